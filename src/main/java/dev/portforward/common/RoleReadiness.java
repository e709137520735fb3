package dev.portforward.common;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Default;
import java.util.function.BooleanSupplier;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness of whichever role this process runs: the role says what "ready" means (the operator:
 * started with healthy informers; the agent: caches synced and the last sync programmed). Until a
 * role has said, the process is not ready.
 */
@Readiness
@Default
@ApplicationScoped
public class RoleReadiness implements HealthCheck {

  private volatile String role = "none";
  private volatile BooleanSupplier ready = () -> false;

  /** Called once by the role that this process runs. */
  public void use(String role, BooleanSupplier ready) {
    this.role = role;
    this.ready = ready;
  }

  @Override
  public HealthCheckResponse call() {
    return HealthCheckResponse.named(role).status(ready.getAsBoolean()).build();
  }
}
