package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.OperatorConfig;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node ports no PortForward may listen on, whatever its namespace's policy says: the node's
 * own services (kubelet, kube-proxy, API server, etcd, SSH, DNS, overlay networks), the Service
 * NodePort range and this project's own ports. A forward there would take the port from the
 * service that owns it on every selected node. Pure: built from the settings, then asked.
 *
 * <p>The cluster admin extends the set with {@code portforward.policy.reserved-ports} and releases
 * ports from it with {@code portforward.policy.unreserved-ports}, which wins over every
 * reservation.
 */
public final class ReservedPorts {

  /** A port range reserved for one or both protocols, and what it belongs to. */
  public record Reservation(int first, int last, Set<Protocol> protocols, String what) {

    public Reservation {
      protocols = Set.copyOf(protocols);
    }

    boolean covers(Protocol protocol, int port) {
      return port >= first && port <= last && protocols.contains(protocol);
    }
  }

  private static final Set<Protocol> TCP = EnumSet.of(Protocol.TCP);
  private static final Set<Protocol> UDP = EnumSet.of(Protocol.UDP);
  private static final Set<Protocol> BOTH = EnumSet.allOf(Protocol.class);

  /** The health and metrics port of the node agent, on the host network of every node (the chart's). */
  public static final int AGENT_HTTP_PORT = 9471;

  /** The node's and the cluster's own services, by protocol where only one is used. */
  static final List<Reservation> BUILT_IN = List.of(
      port(22, TCP, "SSH"),
      port(53, BOTH, "DNS"),
      port(179, TCP, "BGP (Calico, Cilium, MetalLB)"),
      new Reservation(2379, 2380, TCP, "etcd"),
      port(4240, TCP, "Cilium health checks"),
      port(4244, TCP, "Cilium Hubble"),
      port(4789, UDP, "VXLAN overlay"),
      port(6081, UDP, "Geneve overlay"),
      port(6443, TCP, "Kubernetes API server"),
      port(8472, UDP, "VXLAN overlay (Flannel, Cilium)"),
      port(10248, TCP, "kubelet health"),
      port(10249, TCP, "kube-proxy metrics"),
      port(10250, TCP, "kubelet API"),
      port(10255, TCP, "kubelet read-only API"),
      port(10256, TCP, "kube-proxy health"),
      port(10257, TCP, "kube-controller-manager"),
      port(10259, TCP, "kube-scheduler"),
      new Reservation(51820, 51821, UDP, "WireGuard"));

  private static final Pattern PORTS = Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?(?:/(TCP|UDP))?");

  private final List<Reservation> reserved;
  private final List<Reservation> released;

  private ReservedPorts(List<Reservation> reserved, List<Reservation> released) {
    this.reserved = List.copyOf(reserved);
    this.released = List.copyOf(released);
  }

  /**
   * This project's own ports: the agent's on the host network, the webhook's, and the relay's and
   * the sidecar's in their pods. The operator's HTTP port 8080 is left out on purpose: the
   * operator is not on the host network, and 8080 is the port apps use most.
   */
  public static List<Reservation> ownPorts(int webhookPort, int sidecarManagementPort) {
    return List.of(
        port(AGENT_HTTP_PORT, TCP, "portforward agent health and metrics"),
        port(webhookPort, TCP, "portforward operator webhook"),
        port(RelayNames.MANAGEMENT_PORT, TCP, "portforward relay health and metrics"),
        port(RelayNames.RELAY_PORT, BOTH, "portforward relay listener"),
        port(sidecarManagementPort, TCP, "portforward relay sidecar health and metrics"));
  }

  /**
   * Checks the settings and builds the set: the built-in ports, {@code own}, the NodePort range
   * and the admin's additions, less the admin's releases.
   *
   * @throws IllegalArgumentException naming the setting that is wrong
   */
  public static ReservedPorts from(OperatorConfig.Policy settings, List<Reservation> own) {
    List<Reservation> reserved = new ArrayList<>(BUILT_IN);
    reserved.addAll(own);
    Reservation nodePorts = parse("portforward.policy.node-port-range", settings.nodePortRange(), null);
    reserved.add(new Reservation(nodePorts.first(), nodePorts.last(), BOTH,
        "the Service NodePort range " + nodePorts.first() + "-" + nodePorts.last()));
    List<String> added = settings.reservedPorts().orElse(List.of());
    for (int i = 0; i < added.size(); i++) {
      String key = "portforward.policy.reserved-ports[" + i + "]";
      String[] entry = added.get(i).split("=", 2);
      if (entry.length < 2 || entry[1].isBlank()) {
        throw new IllegalArgumentException(key + ": \"" + added.get(i)
            + "\" must be PORT[-PORT][/TCP|/UDP]=what it belongs to, such as 8443/TCP=metrics gateway");
      }
      reserved.add(parse(key, entry[0], entry[1].trim()));
    }
    List<Reservation> released = new ArrayList<>();
    List<String> unreserved = settings.unreservedPorts().orElse(List.of());
    for (int i = 0; i < unreserved.size(); i++) {
      released.add(parse("portforward.policy.unreserved-ports[" + i + "]", unreserved.get(i), null));
    }
    return new ReservedPorts(reserved, released);
  }

  /** The same set, also reserving the ports the cluster's API server endpoints listen on. */
  public ReservedPorts withApiServer(ApiServer apiServer) {
    List<Reservation> more = new ArrayList<>(reserved);
    apiServer.ports().forEach(p -> more.add(port(p, TCP, "the Kubernetes API server (its endpoint in default/kubernetes)")));
    return new ReservedPorts(more, released);
  }

  /** Why {@code port} may not be listened on, if it is reserved and not released. */
  public Optional<Refusal> check(Protocol protocol, int port) {
    if (released.stream().anyMatch(r -> r.covers(protocol, port))) {
      return Optional.empty();
    }
    return reserved.stream()
        .filter(r -> r.covers(protocol, port))
        .findFirst()
        .map(r -> new Refusal(Reason.RESERVED_PORT, "listen.port " + port + " is reserved: " + r.what()
            + "; no PortForward may listen on it, pick another port (only an administrator can release it,"
            + " with portforward.policy.unreserved-ports)"));
  }

  private static Reservation port(int port, Set<Protocol> protocols, String what) {
    return new Reservation(port, port, protocols, what);
  }

  /** PORT, PORT-PORT, either with /TCP or /UDP (both protocols without). */
  private static Reservation parse(String key, String text, String what) {
    Matcher m = PORTS.matcher(text.trim().toUpperCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(key + ": \"" + text + "\" is not PORT, PORT-PORT, PORT/TCP or PORT-PORT/UDP");
    }
    int first = Integer.parseInt(m.group(1));
    int last = m.group(2) == null ? first : Integer.parseInt(m.group(2));
    if (first < 1 || last > 65535 || first > last) {
      throw new IllegalArgumentException(key + ": \"" + text + "\" must satisfy 1 <= first <= last <= 65535");
    }
    Set<Protocol> protocols = m.group(3) == null ? BOTH : EnumSet.of(Protocol.valueOf(m.group(3)));
    return new Reservation(first, last, protocols, what);
  }
}
