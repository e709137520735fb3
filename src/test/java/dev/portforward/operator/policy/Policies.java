package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.ExternalTargetGrant;
import dev.portforward.api.v1alpha1.GatewayGrant;
import dev.portforward.api.v1alpha1.NamespaceSelector;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.PortForwardPolicySpec;
import dev.portforward.api.v1alpha1.PortRange;
import dev.portforward.api.v1alpha1.RelayMode;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Map;

/** PortForwardPolicies for unit tests, built the way the API server would hand them over. */
final class Policies {

  private Policies() {}

  /** A policy selecting namespaces with these labels, granting only what the defaults grant. */
  static PortForwardPolicy selecting(String name, Map<String, String> matchLabels) {
    PortForwardPolicy policy = new PortForwardPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName(name).build());
    PortForwardPolicySpec spec = new PortForwardPolicySpec();
    NamespaceSelector selector = new NamespaceSelector();
    selector.setMatchLabels(matchLabels);
    spec.setNamespaceSelector(selector);
    policy.setSpec(spec);
    return policy;
  }

  static PortForwardPolicy precedence(PortForwardPolicy policy, int precedence) {
    policy.getSpec().setPrecedence(precedence);
    return policy;
  }

  static PortForwardPolicy listenPorts(PortForwardPolicy policy, PortRange... ranges) {
    policy.getSpec().setListenPorts(List.of(ranges));
    return policy;
  }

  static PortForwardPolicy relayModes(PortForwardPolicy policy, RelayMode... modes) {
    policy.getSpec().setRelayModes(List.of(modes));
    return policy;
  }

  static PortForwardPolicy external(PortForwardPolicy policy, List<String> cidrs, List<String> hosts) {
    ExternalTargetGrant grant = new ExternalTargetGrant();
    grant.setCidrs(cidrs);
    grant.setHosts(hosts);
    policy.getSpec().setExternalTargets(grant);
    return policy;
  }

  static PortForwardPolicy gateway(PortForwardPolicy policy, PortRange... externalPorts) {
    GatewayGrant grant = new GatewayGrant();
    grant.setExternalPorts(List.of(externalPorts));
    policy.getSpec().setGateway(grant);
    return policy;
  }

  static PortForwardPolicy maxForwards(PortForwardPolicy policy, int max) {
    policy.getSpec().setMaxForwards(max);
    return policy;
  }
}
