package dev.portforward.operator.relays;

import static dev.portforward.operator.relays.RelayConfigsTest.forward;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.operator.policy.Refusal;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelayOwnershipTest {

  private final PortForward pf = withUid(forward(RelayMode.Deployment), "uid-web");

  @Test
  void whatTheOperatorBuiltForThisForwardIsItsOwn() {
    assertThat(RelayOwnership.ownedBy(RelayWorkload.configMap(pf, "forwards: []"), pf)).isTrue();
    assertThat(RelayOwnership.ownedBy(RelayWorkload.service(pf), pf)).isTrue();
    assertThat(RelayOwnership.conflict(pf, List.of(RelayWorkload.configMap(pf, "x"), RelayWorkload.service(pf))))
        .isEmpty();
  }

  @Test
  void aTenantsDeploymentUnderTheRelayNameIsAConflictNamingIt() {
    Deployment tenants = new DeploymentBuilder().withNewMetadata().withNamespace("team-a").withName("web-relay")
        .addToLabels("app", "web").endMetadata().build();

    assertThat(RelayOwnership.ownedBy(tenants, pf)).isFalse();
    assertThat(RelayOwnership.conflict(pf, List.of(RelayWorkload.configMap(pf, "x"), tenants)))
        .hasValue(new Refusal(Reason.RELAY_OBJECT_CONFLICT, "Deployment team-a/web-relay exists and is not managed by"
            + " this PortForward; rename or delete it (the operator never takes over an object it did not create)"));
  }

  @Test
  void theLabelAloneOrTheOwnerAloneIsNotEnough() {
    PortForward other = withUid(forward(RelayMode.Deployment), "uid-other");
    Service labelledOnly = new ServiceBuilder(RelayWorkload.service(pf)).editMetadata().withOwnerReferences()
        .endMetadata().build();
    Service anotherForwards = RelayWorkload.service(other);
    ConfigMap unlabelled = new ConfigMapBuilder(RelayWorkload.configMap(pf, "x")).editMetadata().withLabels(null)
        .endMetadata().build();
    ConfigMap notController = new ConfigMapBuilder(RelayWorkload.configMap(pf, "x")).editMetadata()
        .editFirstOwnerReference().withController(false).endOwnerReference().endMetadata().build();

    for (HasMetadata object : List.<HasMetadata>of(labelledOnly, anotherForwards, unlabelled, notController)) {
      assertThat(RelayOwnership.ownedBy(object, pf)).as(object.toString()).isFalse();
    }
    assertThat(RelayOwnership.conflict(pf, List.of(unlabelled)).orElseThrow().message())
        .startsWith("ConfigMap team-a/web-relay exists");
  }

  private static PortForward withUid(PortForward pf, String uid) {
    pf.getMetadata().setUid(uid);
    return pf;
  }
}
