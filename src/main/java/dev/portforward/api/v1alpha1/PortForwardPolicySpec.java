package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/**
 * The namespaces a policy selects and everything it grants them. Each field grants one thing;
 * an unset field grants what the comment on its getter says, never more than the chart's defaults.
 */
public class PortForwardPolicySpec {

  /** Precedence of a policy that sets none: the middle, so admins can order policies both ways. */
  public static final int DEFAULT_PRECEDENCE = 1000;

  @Required
  @JsonPropertyDescription(
      "Namespaces (by their labels) whose PortForwards this policy governs, as a standard label"
          + " selector. {} selects every namespace.")
  private NamespaceSelector namespaceSelector;

  @Default("1000")
  @Min(0)
  @Max(10000)
  @JsonPropertyDescription(
      "When several policies select a namespace, the one with the lowest precedence governs it alone;"
          + " among equals, the first by name. Defaults to 1000.")
  private int precedence = DEFAULT_PRECEDENCE;

  @Size(min = 1, max = Limits.MAX_PORT_RANGES)
  @JsonPropertyDescription(
      "Ports a PortForward may listen on. A privileged port (below 1024) is granted by listing it"
          + " here. Unset means 1024-65535. Ports the operator reserves for the node stay refused.")
  private List<PortRange> listenPorts;

  @Size(min = 1, max = 4)
  @JsonPropertyDescription(
      "relay.mode values a PortForward may use; Socks5 must be listed to be granted."
          + " Unset means None, Sidecar and Deployment.")
  private List<RelayMode> relayModes;

  @JsonPropertyDescription("External targets a PortForward may lead to. Unset means none.")
  private ExternalTargetGrant externalTargets;

  @JsonPropertyDescription(
      "Gateway mapping (spec.gateway) and the external ports it may ask for. Unset means none.")
  private GatewayGrant gateway;

  @Min(0)
  @Max(Limits.MAX_FORWARDS_PER_NAMESPACE)
  @JsonPropertyDescription(
      "Most PortForwards a selected namespace may have; the newest beyond it are not accepted"
          + " (reason ForwardLimitReached). Unset means no limit.")
  private Integer maxForwards;

  public NamespaceSelector getNamespaceSelector() {
    return namespaceSelector;
  }

  public void setNamespaceSelector(NamespaceSelector namespaceSelector) {
    this.namespaceSelector = namespaceSelector;
  }

  public int getPrecedence() {
    return precedence;
  }

  public void setPrecedence(int precedence) {
    this.precedence = precedence;
  }

  public List<PortRange> getListenPorts() {
    return listenPorts;
  }

  public void setListenPorts(List<PortRange> listenPorts) {
    this.listenPorts = listenPorts;
  }

  public List<RelayMode> getRelayModes() {
    return relayModes;
  }

  public void setRelayModes(List<RelayMode> relayModes) {
    this.relayModes = relayModes;
  }

  public ExternalTargetGrant getExternalTargets() {
    return externalTargets;
  }

  public void setExternalTargets(ExternalTargetGrant externalTargets) {
    this.externalTargets = externalTargets;
  }

  public GatewayGrant getGateway() {
    return gateway;
  }

  public void setGateway(GatewayGrant gateway) {
    this.gateway = gateway;
  }

  public Integer getMaxForwards() {
    return maxForwards;
  }

  public void setMaxForwards(Integer maxForwards) {
    this.maxForwards = maxForwards;
  }
}
