package dev.portforward.operator.relays;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.ProxyProtocol;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.Socks5;
import dev.portforward.common.RelayNames;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The relay config (docs/relay.md) a PortForward's relays run with, as the text of the relay
 * ConfigMap's {@value RelayNames#CONFIG_KEY}. Pure: the caller has resolved and checked the target.
 */
public final class RelayConfigs {

  /** Where a SOCKS5 relay pod mounts relay.socks5.usersSecretName: one file per user. */
  public static final String USERS_DIR = "/etc/portforward/socks5-users";

  private static final ObjectMapper YAML = new ObjectMapper(
      new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

  private RelayConfigs() {}

  /**
   * A relay Deployment's config: one forward on {@link RelayNames#RELAY_PORT} (the agent DNATs
   * listen.port there) to {@code host:port}, the address the operator resolved and checked.
   * {@code nodeAddresses}: see {@link #forward}.
   */
  public static String deployment(PortForward pf, String host, int port, List<String> nodeAddresses) {
    return render(forward(pf, forwardName(pf), Map.of("port", RelayNames.RELAY_PORT), host, port, nodeAddresses));
  }

  /** One target of a relay Deployment that dials by weight: a Service's cluster IP and its weight. */
  public record WeightedDial(String host, int port, int weight) {}

  /**
   * A relay Deployment's config for target.services: each new connection goes to one of {@code
   * dials} by weight (the relay draws per connection), where kube-proxy balances over the endpoints.
   */
  public static String weightedDeployment(PortForward pf, List<WeightedDial> dials, List<String> nodeAddresses) {
    Map<String, Object> forward = forward(pf, forwardName(pf), Map.of("port", RelayNames.RELAY_PORT), null, 0,
        nodeAddresses);
    // After name, protocol and listen, where a reader looks for the target.
    Map<String, Object> ordered = new LinkedHashMap<>();
    forward.entrySet().stream().limit(3).forEach(e -> ordered.put(e.getKey(), e.getValue()));
    ordered.put("targets", dials.stream().map(d -> {
      Map<String, Object> target = new LinkedHashMap<>();
      target.put("host", d.host());
      target.put("port", d.port());
      target.put("weight", d.weight());
      return target;
    }).toList());
    forward.forEach(ordered::putIfAbsent);
    return render(ordered);
  }

  /**
   * A sidecar's config: it listens on the target port with no address (the sidecar's default
   * listen address is the pod IP, next to an app bound to 127.0.0.1 on the same port) and forwards
   * to that app on 127.0.0.1.
   */
  public static String sidecar(PortForward pf, int port, List<String> nodeAddresses) {
    return render(forward(pf, forwardName(pf) + "/" + port, Map.of("port", port), "127.0.0.1", port, nodeAddresses));
  }

  /**
   * A SOCKS5 relay's config: each CONNECT is checked against the PortForward's allowedDestinations
   * and, besides the relay's built-in denylist, {@code deniedDestinations} (the operator's).
   */
  public static String socks5(PortForward pf, List<String> deniedDestinations, List<String> nodeAddresses) {
    Map<String, Object> forward = forward(pf, forwardName(pf), Map.of("port", RelayNames.RELAY_PORT), null, 0,
        nodeAddresses);
    forward.put("protocol", "SOCKS5");
    Socks5 spec = pf.getSpec().getRelay().getSocks5();
    Map<String, Object> socks5 = new LinkedHashMap<>();
    socks5.put("allowedDestinations", spec.getAllowedDestinations());
    if (spec.getUsersSecretName() != null) {
      socks5.put("usersDirectory", USERS_DIR);
    }
    forward.put("socks5", socks5);
    Map<String, Object> config = new LinkedHashMap<>();
    if (!deniedDestinations.isEmpty()) {
      config.put("deniedDestinations", deniedDestinations);
    }
    config.put("forwards", List.of(forward));
    return write(config);
  }

  private static String forwardName(PortForward pf) {
    return pf.getMetadata().getNamespace() + "/" + pf.getMetadata().getName();
  }

  /**
   * @param nodeAddresses the addresses of the nodes that carry the forward: a node masquerades the
   *     connections it sends to a relay on another node (so that the reply comes back through its
   *     DNAT), so these arrive from the node's address, after the node's kernel checked the
   *     client against sourceRanges; the relay admits them besides sourceRanges
   */
  private static Map<String, Object> forward(PortForward pf, String name, Map<String, Object> listen, String host,
      int port, List<String> nodeAddresses) {
    PortForwardSpec spec = pf.getSpec();
    Map<String, Object> forward = new LinkedHashMap<>();
    forward.put("name", name);
    forward.put("protocol", spec.getProtocol().name());
    forward.put("listen", listen);
    if (host != null) {
      forward.put("target", Map.of("host", host, "port", port));
    }
    Relay relay = spec.getRelay();
    if (relay.getProxyProtocol() != ProxyProtocol.None) {
      forward.put("proxyProtocol", relay.getProxyProtocol().name());
    }
    if (relay.getMaxConnections() != null) {
      forward.put("maxConnections", relay.getMaxConnections());
    }
    if (relay.getIdleTimeout() != null) {
      forward.put("idleTimeout", relay.getIdleTimeout());
    }
    if (spec.getSourceRanges() != null && !spec.getSourceRanges().isEmpty()) {
      List<String> ranges = new ArrayList<>(spec.getSourceRanges());
      nodeAddresses.forEach(address -> ranges.add(address + (address.contains(":") ? "/128" : "/32")));
      forward.put("sourceRanges", ranges.stream().distinct().toList());
    }
    return forward;
  }

  private static String render(Map<String, Object> forward) {
    return write(Map.of("forwards", List.of(forward)));
  }

  private static String write(Map<String, Object> config) {
    try {
      return YAML.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
