package dev.portforward.testbed;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/** Builders and waits for PortForwards in tests. */
public final class PortForwards {

  /**
   * Conflicts are cluster-wide, so every test takes listen ports no other test uses: from a
   * window below the NodePort range (30000-32767, reserved), entered at a place of this JVM's own.
   */
  private static final int FIRST_PORT = 20000;
  private static final int PORTS = 10000;
  private static final AtomicInteger NEXT_PORT = new AtomicInteger((int) (ProcessHandle.current().pid() % 500) * 20);

  public static final Duration WAIT = Duration.ofSeconds(60);

  private PortForwards() {}

  public static int uniquePort() {
    return FIRST_PORT + Math.floorMod(NEXT_PORT.getAndIncrement(), PORTS);
  }

  /** A PortForward whose spec is written as in a manifest, such as {@code "listen: {port: 8080}, ..."}. */
  public static PortForward of(String namespace, String name, String spec) {
    return Serialization.unmarshal("""
        apiVersion: portforward.dev/v1alpha1
        kind: PortForward
        metadata: {name: %s, namespace: %s}
        spec: {%s}
        """.formatted(name, namespace, spec), PortForward.class);
  }

  /** A TCP forward from {@code port} to a Service, further shaped by {@code customize}. */
  public static PortForward toService(String namespace, String name, int port, String service, int servicePort,
      Consumer<PortForwardSpec> customize) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(port);
    spec.setListen(listen);
    Target target = new Target();
    ServiceTarget svc = new ServiceTarget();
    svc.setName(service);
    svc.setPort(servicePort);
    target.setService(svc);
    spec.setTarget(target);
    customize.accept(spec);
    pf.setSpec(spec);
    return pf;
  }

  public static Optional<Condition> condition(PortForward pf, String type) {
    if (pf == null || pf.getStatus() == null) {
      return Optional.empty();
    }
    return pf.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  /**
   * Waits until the condition has the status and reason, and returns the PortForward then. A
   * timeout names the conditions last seen, so a failure read only from its message explains itself.
   */
  public static PortForward awaitCondition(
      KubernetesClient client, String namespace, String name, String type, String status, String reason) {
    AtomicReference<PortForward> last = new AtomicReference<>();
    try {
      return Awaitility.await(namespace + "/" + name + " " + type + "=" + status + " (" + reason + ")")
          .atMost(WAIT)
          .until(
              () -> {
                PortForward pf = client.resources(PortForward.class).inNamespace(namespace).withName(name).get();
                last.set(pf);
                return pf;
              },
              pf -> condition(pf, type)
                  .filter(c -> status.equals(c.getStatus()) && reason.equals(c.getReason()))
                  .isPresent()
                  && pf.getStatus().getObservedGeneration().equals(pf.getMetadata().getGeneration()));
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("%s/%s never had %s=%s (%s) within %s; last seen: %s"
          .formatted(namespace, name, type, status, reason, WAIT, describe(last.get())), e);
    }
  }

  /** A forward's generation and conditions, one line each, as a failure message shows them. */
  public static String describe(PortForward pf) {
    if (pf == null) {
      return "no such forward";
    }
    if (pf.getStatus() == null) {
      return "generation " + pf.getMetadata().getGeneration() + ", no status";
    }
    return "generation %d, observed %s%s".formatted(pf.getMetadata().getGeneration(),
        pf.getStatus().getObservedGeneration(), pf.getStatus().getConditions().stream()
            .map(c -> "%n  %s=%s (%s) %s".formatted(c.getType(), c.getStatus(), c.getReason(), c.getMessage()))
            .collect(Collectors.joining()));
  }

  public static PortForward awaitAccepted(KubernetesClient client, String namespace, String name) {
    return awaitCondition(client, namespace, name, Conditions.ACCEPTED, "True", Conditions.Reason.ACCEPTED);
  }
}
