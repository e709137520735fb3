package dev.portforward.testbed;

import dev.portforward.common.Cidr;
import java.io.IOException;
import java.net.InetAddress;
import java.util.List;

/**
 * A client, a node and two pods as network namespaces, with real TCP and UDP backends in the pods
 * that answer with the pod's name ("pod1", "pod2"; over IPv6 TCP "pod1-v6", "pod2-v6"). The node
 * routes between them, dual-stack; it is where the agent's rules go.
 *
 * <pre>
 * client 10.77.1.2 -- 10.77.1.1 node 10.77.2.1 -- 10.77.2.2 pod1 (tcp 8080, udp 5353)
 *                                    10.77.3.1 -- 10.77.3.2 pod2 (tcp 8080, udp 5353)
 * IPv6:  fd77:1::2 --  fd77:1::1      fd77:2::1 -- fd77:2::2, fd77:3::1 -- fd77:3::2 (tcp 8080)
 * </pre>
 */
public final class NodeTopology implements AutoCloseable {

  public static final String NODE_IP = "10.77.1.1";
  public static final String CLIENT_IP = "10.77.1.2";
  public static final String POD1_IP = "10.77.2.2";
  public static final String POD2_IP = "10.77.3.2";
  public static final String NODE_IP6 = "fd77:1::1";
  public static final String CLIENT_IP6 = "fd77:1::2";
  public static final String POD1_IP6 = "fd77:2::2";
  public static final String POD2_IP6 = "fd77:3::2";
  /** The node's addresses as its Node object lists them (InternalIP, both families): where forwards listen. */
  public static final List<InetAddress> NODE_ADDRESSES =
      List.of(Cidr.parseAddress(NODE_IP), Cidr.parseAddress(NODE_IP6));
  /** A second client on the client's link, added by {@link #addSecondClientAddress}. */
  public static final String SECOND_CLIENT_IP = "10.77.1.3";

  public final NetNs net;
  public final String client;
  public final String node;
  public final String pod1;
  public final String pod2;

  private NodeTopology(NetNs net) throws IOException {
    this.net = net;
    client = net.host("client");
    node = net.host("node");
    pod1 = net.host("pod1");
    pod2 = net.host("pod2");
    net.link(client, List.of(CLIENT_IP + "/24", CLIENT_IP6 + "/64"), node, List.of(NODE_IP + "/24", NODE_IP6 + "/64"));
    net.link(pod1, List.of(POD1_IP + "/24", POD1_IP6 + "/64"), node, List.of("10.77.2.1/24", "fd77:2::1/64"));
    net.link(pod2, List.of(POD2_IP + "/24", POD2_IP6 + "/64"), node, List.of("10.77.3.1/24", "fd77:3::1/64"));
    net.exec(client, "ip", "route", "add", "default", "via", NODE_IP);
    net.exec(client, "ip", "-6", "route", "add", "default", "via", NODE_IP6);
    for (String pod : List.of(pod1, pod2)) {
      String subnet = pod.equals(pod1) ? "2" : "3";
      net.exec(pod, "ip", "route", "add", "default", "via", "10.77." + subnet + ".1");
      net.exec(pod, "ip", "-6", "route", "add", "default", "via", "fd77:" + subnet + "::1");
      String name = pod.substring(pod.lastIndexOf('-') + 1);
      net.spawn(pod, "socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo " + name);
      net.spawn(pod, "socat", "TCP6-LISTEN:8080,ipv6only=1,fork,reuseaddr", "SYSTEM:echo " + name + "-v6");
      net.spawn(pod, "socat", "UDP-RECVFROM:5353,fork,reuseaddr", "SYSTEM:echo " + name);
    }
    net.exec(node, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    net.exec(node, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
  }

  /** Builds the topology, or skips the calling test (saying why) where namespaces cannot be made. */
  public static NodeTopology create() throws IOException {
    NetNs net = NetNs.create();
    try {
      return new NodeTopology(net);
    } catch (RuntimeException | IOException e) {
      net.close();
      throw e;
    }
  }

  /** Gives the client namespace {@link #SECOND_CLIENT_IP} too, so that one test has two sources. */
  public void addSecondClientAddress() throws IOException {
    net.exec(client, "bash", "-c", "ip addr add " + SECOND_CLIENT_IP + "/24 dev $(ip -o -4 addr show to "
        + CLIENT_IP + " | cut -d' ' -f2)");
  }

  /** Asks the node's port over TCP from the client; the answer, or "" when refused or dropped. */
  public String tcpAsk(int port) {
    return tcpAsk(client, NODE_IP, port);
  }

  /** Asks the node's IPv6 address over TCP from the client's IPv6 address. */
  public String tcpAsk6(int port) {
    return tcpAsk(client, "[" + NODE_IP6 + "]", port);
  }

  /** Asks {@code host} (an IPv6 address in brackets) over TCP from namespace {@code from}. */
  public String tcpAsk(String from, String host, int port) {
    try {
      String protocol = host.startsWith("[") ? "TCP6:" : "TCP:";
      return net.exec(from, "socat", "-T2", "-", protocol + host + ":" + port + ",connect-timeout=1").strip();
    } catch (IllegalStateException refused) {
      return "";
    }
  }

  /** Asks over UDP, always from the same client port, so that conntrack sees one flow. */
  public String udpAsk(int port) {
    try {
      return net.exec(client, "bash", "-c",
          "echo ask | socat -T1 - UDP:" + NODE_IP + ":" + port + ",sourceport=40000,reuseaddr").strip();
    } catch (IllegalStateException noAnswer) {
      return "";
    }
  }

  @Override
  public void close() {
    net.close();
  }
}
