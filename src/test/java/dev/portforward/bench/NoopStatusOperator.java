package dev.portforward.bench;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * The baseline for the operator benchmark: the same framework, watching the same resource, that
 * only writes Accepted=True. Run as its own JVM, in one namespace: {@code NoopStatusOperator NS}.
 */
public final class NoopStatusOperator {

  @ControllerConfiguration(name = "noop")
  static final class NoopReconciler implements Reconciler<PortForward> {
    @Override
    public UpdateControl<PortForward> reconcile(PortForward pf, Context<PortForward> context) {
      if (pf.getStatus() != null && !pf.getStatus().getConditions().isEmpty()) {
        return UpdateControl.noUpdate();
      }
      PortForwardStatus status = new PortForwardStatus();
      status.setObservedGeneration(pf.getMetadata().getGeneration());
      status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("True")
          .withReason("Accepted").withMessage("noop").withObservedGeneration(pf.getMetadata().getGeneration())
          .withLastTransitionTime(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()).build()));
      pf.setStatus(status);
      return UpdateControl.patchStatus(pf);
    }
  }

  public static void main(String[] args) {
    Operator operator = new Operator();
    operator.register(new NoopReconciler(), c -> c.settingNamespace(args[0]));
    operator.start();
  }

  private NoopStatusOperator() {}
}
