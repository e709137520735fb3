package dev.portforward.agent;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The node agent's settings (environment PORTFORWARD_AGENT_*, or -D flags). */
@ConfigMapping(prefix = "portforward.agent")
public interface AgentConfig {

  /** The node this agent programs; the DaemonSet passes spec.nodeName. */
  Optional<String> nodeName();

  /**
   * A command that nft and conntrack run under, such as "ip,netns,exec,NAME" to program another
   * network namespace. Empty in a cluster, where the agent shares the node's network.
   */
  Optional<List<String>> commandPrefix();

  /** How often the kernel's table is compared with the desired one (drift repair). */
  @WithDefault("30s")
  Duration resyncPeriod();

  /** Changes closer together than this are applied in one transaction. */
  @WithDefault("200ms")
  Duration minSyncInterval();

  /**
   * Whether this agent programs forwards on a control-plane node (label
   * node-role.kubernetes.io/control-plane). Off: such a node carries no forwards. Must equal the
   * operator's portforward.policy.control-plane-nodes; the chart sets both from one value.
   */
  @WithDefault("false")
  boolean controlPlaneNodes();

  /**
   * CIDRs no backend may be in, on top of the built-in ones (loopback, link-local and metadata,
   * unspecified), the API server's addresses and this node's own addresses. The chart passes the
   * operator's portforward.policy.target-denylist, so the agent re-checks what the operator checked.
   */
  Optional<List<String>> targetDenylist();

  /**
   * Whether a backend may be one of this node's own addresses (InternalIP, ExternalIP). Off: a
   * tenant-written EndpointSlice cannot lead a forward to the node's own services.
   */
  @WithDefault("false")
  boolean nodeAddressTargets();

  /** Gateway mapping (spec.gateway): how the agent reaches the gateway in front of its node. */
  GatewaySettings gateway();

  /** Settings under portforward.agent.gateway. */
  interface GatewaySettings {

    /**
     * The gateway to ask (an IPv4 address); empty means the node's IPv4 default gateway, read
     * from /proc/net/route each time it is needed.
     */
    Optional<String> address();

    /**
     * How often each mapping is checked (and restored when the gateway lost it), and how soon a
     * failed request is tried again. Leases are renewed at half their length regardless.
     */
    @WithDefault("60s")
    Duration checkPeriod();

    /** How long to wait for a UPnP gateway to answer an SSDP search. */
    @WithDefault("3s")
    Duration discoveryTimeout();
  }
}
