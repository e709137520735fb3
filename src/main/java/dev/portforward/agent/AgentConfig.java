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
