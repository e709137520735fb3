package dev.portforward.testbed;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The network real nodes share: a bridge in the machine's namespace holding the API server's
 * address, with each node's and each client's namespace plugged into it by a veth. Addresses come
 * from one 10.N.0.0/16 that no route of the machine touches, so that several test beds on one
 * machine never meet:
 *
 * <pre>
 * bridge        10.N.0.1/24    (the API server binds here)
 * node i        10.N.0.(10+i)  pods 10.N.(128+i).0/24, routed via the node by the host and other nodes
 * client j      10.N.0.(200+j)
 * </pre>
 *
 * Deleting the bridge (close) deletes the routes through it; the node and client namespaces
 * (and the veths in them) belong to their owners.
 */
public final class NodeNetwork implements AutoCloseable {

  private static final int NODE_BASE = 10;
  private static final int CLIENT_BASE = 200;

  private final String id = UUID.randomUUID().toString().substring(0, 6);
  private final String bridge = "pfb" + id;
  private final int octet;
  private final List<String> clients = new ArrayList<>();

  private NodeNetwork(int octet) {
    this.octet = octet;
  }

  /** Creates the bridge on a 10.N.0.0/16 that the machine's routes do not use yet. */
  public static NodeNetwork create() {
    String routes = run("ip", "-4", "route", "show", "table", "all") + run("ip", "-4", "addr");
    for (int attempt = 0; attempt < 50; attempt++) {
      int candidate = 180 + ThreadLocalRandom.current().nextInt(70);
      if (!routes.contains(" 10." + candidate + ".") && !routes.contains("\n10." + candidate + ".")
          && !routes.startsWith("10." + candidate + ".")) {
        NodeNetwork network = new NodeNetwork(candidate);
        try {
          network.up();
          return network;
        } catch (RuntimeException e) {
          network.close();
          throw e;
        }
      }
    }
    throw new IllegalStateException("no free 10.N.0.0/16 for the nodes' network");
  }

  private void up() {
    run("ip", "link", "add", bridge, "type", "bridge");
    run("ip", "addr", "add", hostAddress() + "/24", "dev", bridge);
    run("ip", "link", "set", bridge, "up");
  }

  /** The machine's address on the network: the API server's. */
  public String hostAddress() {
    return "10." + octet + ".0.1";
  }

  /** Node {@code index}'s (1-based) address. */
  public String nodeAddress(int index) {
    return "10." + octet + ".0." + (NODE_BASE + index);
  }

  /** Node {@code index}'s pod CIDR. */
  public String podCidr(int index) {
    return "10." + octet + "." + (128 + index) + ".0/24";
  }

  /** Every pod CIDR (the cluster CIDR kube-proxy is told). */
  public String clusterCidr() {
    return "10." + octet + ".128.0/17";
  }

  /** The name prefix of every namespace and link this network's owners create. */
  public String prefix() {
    return "pfn" + id;
  }

  /**
   * Plugs namespace {@code ns} into the bridge as its {@code eth0} with {@code address}/24; the
   * machine end is named {@code hostEnd}. Deleting the namespace deletes both ends.
   */
  public void plug(String ns, String hostEnd, String address) {
    run("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
    run("ip", "link", "set", hostEnd, "master", bridge, "up");
    run("ip", "netns", "exec", ns, "ip", "addr", "add", address + "/24", "dev", "eth0");
    run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
  }

  /** Routes node {@code index}'s pod CIDR through it, on the machine. */
  public void routePods(int index) {
    run("ip", "route", "replace", podCidr(index), "via", nodeAddress(index), "dev", bridge);
  }

  /**
   * A client namespace outside the nodes, plugged into the bridge, with routes to every pod CIDR
   * through its node; returns its name. Removed on close.
   */
  public Client client(int nodes) {
    int index = clients.size() + 1;
    String ns = prefix() + "-client" + index;
    run("ip", "netns", "add", ns);
    clients.add(ns);
    run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    String address = "10." + octet + ".0." + (CLIENT_BASE + index);
    plug(ns, prefix() + "c" + index, address);
    for (int node = 1; node <= nodes; node++) {
      run("ip", "netns", "exec", ns, "ip", "route", "add", podCidr(node), "via", nodeAddress(node));
    }
    return new Client(ns, address);
  }

  /** A client namespace and its address on the nodes' network. */
  public record Client(String namespace, String address) {}

  @Override
  public void close() {
    for (String ns : clients) {
      tryRun("ip", "netns", "del", ns);
    }
    tryRun("ip", "link", "del", bridge);
  }

  /** Runs a command, returning its output; throws IllegalStateException, with the output, when it fails. */
  public static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
      }
      return out;
    } catch (java.io.IOException e) {
      throw new IllegalStateException(String.join(" ", command) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static boolean tryRun(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (java.io.IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
