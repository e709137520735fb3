package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** What to forward: where it listens, where it leads, and who may use it. */
@ValidationRule(
    value = "has(self.target) || (has(self.relay) && self.relay.mode == 'Socks5')",
    message = "spec.target is required: set exactly one of service, services, pods or external",
    fieldPath = ".target",
    reason = "FieldValueRequired")
@ValidationRule(
    value = "!(has(self.target) && has(self.relay) && self.relay.mode == 'Socks5')",
    message = "spec.target must not be set with relay.mode Socks5: each connection chooses its destination within relay.socks5.allowedDestinations",
    reason = "FieldValueForbidden")
@ValidationRule(
    value = "!(has(self.routes) && size(self.routes) > 0 && has(self.relay) && self.relay.mode != 'None')",
    message = "spec.routes needs relay.mode None: per-source targets are kernel rules, a relay carries one target",
    reason = "FieldValueForbidden")
@ValidationRule(
    value = "!(self.protocol == 'UDP' && has(self.relay) && self.relay.mode == 'Socks5')",
    message = "relay.mode Socks5 needs protocol TCP",
    reason = "FieldValueInvalid")
@ValidationRule(
    value = "!(self.protocol == 'UDP' && has(self.relay) && self.relay.proxyProtocol != 'None')",
    message = "relay.proxyProtocol needs protocol TCP: the relay sends the header on TCP connections",
    reason = "FieldValueInvalid")
@ValidationRule(
    value = "!(has(self.relay) && self.relay.mode == 'Deployment' && has(self.target) && has(self.target.pods))",
    message = "relay.mode Deployment needs a service or external target: a relay dials one address, so put a Service in front of the pods",
    fieldPath = ".target",
    reason = "FieldValueInvalid")
@ValidationRule(
    value = "!(has(self.relay) && self.relay.mode == 'Sidecar' && has(self.target) && has(self.target.external))",
    message = "relay.mode Sidecar needs a service or pods target: the sidecar runs next to the target pods",
    fieldPath = ".target",
    reason = "FieldValueInvalid")
@ValidationRule(
    value = "!(has(self.relay) && self.relay.mode == 'Sidecar' && has(self.target) && has(self.target.pods) && self.target.pods.port < 1024)",
    message = "relay.mode Sidecar needs target.pods.port from 1024 up: the sidecar runs without root or capabilities",
    fieldPath = ".target",
    reason = "FieldValueInvalid")
@ValidationRule(
    value = "!(has(self.relay) && self.relay.mode == 'Socks5') || has(self.relay.socks5.usersSecretName) || (has(self.sourceRanges) && size(self.sourceRanges) > 0)",
    message = "relay.mode Socks5 needs relay.socks5.usersSecretName or spec.sourceRanges: an open SOCKS5 proxy is not allowed",
    reason = "FieldValueRequired")
@ValidationRule(
    value = "!has(self.applicationProtocol) || self.applicationProtocol != 'FTP' || (self.protocol == 'TCP' && (!has(self.relay) || self.relay.mode == 'None'))",
    message = "applicationProtocol FTP needs protocol TCP and relay.mode None: the node's kernel follows the FTP "
        + "control connection to forward its data connections, which a relay cannot do",
    fieldPath = ".applicationProtocol",
    reason = "FieldValueInvalid")
public class PortForwardSpec {

  @Default("TCP")
  @JsonPropertyDescription("Transport protocol: TCP or UDP. Defaults to TCP.")
  private Protocol protocol = Protocol.TCP;

  @Default("None")
  @JsonPropertyDescription(
      "The protocol carried above TCP, where forwarding it needs more than its port. FTP: the node's kernel "
          + "follows the control connection (PASV, EPSV, PORT, EPRT) and forwards the data connections it "
          + "announces, rewriting the pod's address in it to the node's. Needs relay.mode None. Defaults to None.")
  private ApplicationProtocol applicationProtocol = ApplicationProtocol.None;

  @Required
  @JsonPropertyDescription("Where the forward accepts traffic.")
  private Listen listen;

  @JsonPropertyDescription(
      "Where traffic goes: exactly one of service, services, pods or external. Not set with relay.mode Socks5.")
  private Target target;

  @JsonPropertyDescription(
      "How traffic is carried. Without it, the node rewrites packets straight to the target (DNAT).")
  private Relay relay;

  @Size(max = Limits.MAX_SOURCE_RANGES)
  @ValidationRule(
      value = "self.all(c, isCIDR(c))",
      message = "sourceRanges must be CIDRs such as 10.0.0.0/8 or 2001:db8::/32")
  @JsonPropertyDescription(
      "Only clients from these CIDRs may use the forward. Empty means every source may.")
  private List<@Size(max = Limits.MAX_CIDR) String> sourceRanges;

  @Size(max = Limits.MAX_ROUTES)
  @JsonPropertyDescription(
      "Per-source targets: the first route whose sourceRanges contain the client's address wins; "
          + "other clients go to spec.target.")
  private List<Route> routes;

  @JsonPropertyDescription(
      "Ask the gateway in front of the cluster (UPnP IGD, NAT-PMP or PCP) to forward an external port here.")
  private Gateway gateway;

  public Protocol getProtocol() {
    return protocol;
  }

  public void setProtocol(Protocol protocol) {
    this.protocol = protocol;
  }

  public ApplicationProtocol getApplicationProtocol() {
    return applicationProtocol;
  }

  public void setApplicationProtocol(ApplicationProtocol applicationProtocol) {
    this.applicationProtocol = applicationProtocol;
  }

  public Listen getListen() {
    return listen;
  }

  public void setListen(Listen listen) {
    this.listen = listen;
  }

  public Target getTarget() {
    return target;
  }

  public void setTarget(Target target) {
    this.target = target;
  }

  public Relay getRelay() {
    return relay;
  }

  public void setRelay(Relay relay) {
    this.relay = relay;
  }

  public List<String> getSourceRanges() {
    return sourceRanges;
  }

  public void setSourceRanges(List<String> sourceRanges) {
    this.sourceRanges = sourceRanges;
  }

  public List<Route> getRoutes() {
    return routes;
  }

  public void setRoutes(List<Route> routes) {
    this.routes = routes;
  }

  public Gateway getGateway() {
    return gateway;
  }

  public void setGateway(Gateway gateway) {
    this.gateway = gateway;
  }
}
