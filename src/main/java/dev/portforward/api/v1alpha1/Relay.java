package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * How traffic is carried (kernel DNAT with mode None, or a relay), and the limits on connections.
 * Limits hold where a connection is admitted: maxConnections in the relay, or in the node's kernel
 * with mode None; maxConnectionsPerSecondPerSource in the node's kernel for every mode, since
 * every client's first packet passes the node's DNAT.
 */
@ValidationRule(
    value = "self.proxyProtocol == 'None' || self.mode == 'Sidecar' || self.mode == 'Deployment'",
    message = "relay.proxyProtocol needs relay.mode Sidecar or Deployment: kernel DNAT cannot add a header")
@ValidationRule(
    value = "!has(self.idleTimeout) || self.mode != 'None'",
    message = "relay.idleTimeout needs a relay: set relay.mode to Sidecar, Deployment or Socks5")
@ValidationRule(
    value = "has(self.socks5) == (self.mode == 'Socks5')",
    message = "relay.socks5 is required with relay.mode Socks5 and not allowed otherwise")
public class Relay {

  @Default("None")
  @JsonPropertyDescription(
      "None: kernel DNAT to the target. Sidecar: DNAT to a relay injected next to the target pods, "
          + "which forwards to localhost (reaches ports bound to 127.0.0.1). Deployment: a relay "
          + "Deployment opens a new connection to the target. Socks5: a SOCKS5 proxy.")
  private RelayMode mode = RelayMode.None;

  @Default("None")
  @JsonPropertyDescription("PROXY protocol header sent to the backend: None, V1 (TCP only) or V2.")
  private ProxyProtocol proxyProtocol = ProxyProtocol.None;

  @Min(1)
  @Max(1_000_000)
  @JsonPropertyDescription(
      "Connections (TCP) or sessions (UDP) open at once: per relay pod, where the excess is refused at "
          + "once; with mode None, per node, where the kernel drops the excess's first packets.")
  private Integer maxConnections;

  @Min(1)
  @Max(100_000)
  @JsonPropertyDescription(
      "New connections (TCP) or sessions (UDP) per second from one client address (IPv6: one /64), "
          + "with a burst of as many; each node's kernel drops the excess, in every mode.")
  private Integer maxConnectionsPerSecondPerSource;

  @Size(max = 32)
  @Pattern("^([0-9]+(ms|s|m|h))+$")
  @JsonPropertyDescription("Close a connection idle this long, such as 30s, 5m or 1h30m.")
  private String idleTimeout;

  @JsonPropertyDescription("SOCKS5 settings; required with mode Socks5.")
  private Socks5 socks5;

  public RelayMode getMode() {
    return mode;
  }

  public void setMode(RelayMode mode) {
    this.mode = mode;
  }

  public ProxyProtocol getProxyProtocol() {
    return proxyProtocol;
  }

  public void setProxyProtocol(ProxyProtocol proxyProtocol) {
    this.proxyProtocol = proxyProtocol;
  }

  public Integer getMaxConnections() {
    return maxConnections;
  }

  public void setMaxConnections(Integer maxConnections) {
    this.maxConnections = maxConnections;
  }

  public Integer getMaxConnectionsPerSecondPerSource() {
    return maxConnectionsPerSecondPerSource;
  }

  public void setMaxConnectionsPerSecondPerSource(Integer maxConnectionsPerSecondPerSource) {
    this.maxConnectionsPerSecondPerSource = maxConnectionsPerSecondPerSource;
  }

  public String getIdleTimeout() {
    return idleTimeout;
  }

  public void setIdleTimeout(String idleTimeout) {
    this.idleTimeout = idleTimeout;
  }

  public Socks5 getSocks5() {
    return socks5;
  }

  public void setSocks5(Socks5 socks5) {
    this.socks5 = socks5;
  }
}
