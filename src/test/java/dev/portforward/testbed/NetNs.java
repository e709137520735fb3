package dev.portforward.testbed;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces a test creates (and always removes): real hosts for real packets, without
 * touching the machine's own network. Use addresses in 10.77.0.0/16 only.
 */
public final class NetNs implements AutoCloseable {

  private final String prefix = "pf" + UUID.randomUUID().toString().substring(0, 6);
  private final List<String> created = new ArrayList<>();
  private final List<Process> background = new ArrayList<>();

  /** Skips the calling test, saying why, where namespaces cannot be made. */
  public static NetNs create() {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: network namespace tests need root");
    NetNs netns = new NetNs();
    assumeTrue(netns.tryRun("nft", "--version") && netns.tryRun("ip", "-V") && netns.tryRun("conntrack", "--version"),
        "skipped: nft, ip and conntrack are needed (Debian packages nftables, iproute2, conntrack)");
    return netns;
  }

  /** A new namespace with loopback up; returns its full name. */
  public String host(String name) {
    String ns = prefix + "-" + name;
    run("ip", "netns", "add", ns);
    created.add(ns);
    exec(ns, "ip", "link", "set", "lo", "up");
    return ns;
  }

  /** A veth pair between two namespaces, with an address (CIDR notation) on each end. */
  public void link(String a, String addressA, String b, String addressB) {
    link(a, List.of(addressA), b, List.of(addressB));
  }

  /** A veth pair between two namespaces, with addresses (CIDR notation, IPv4 or IPv6) on each end. */
  public void link(String a, List<String> addressesA, String b, List<String> addressesB) {
    String ifA = "v" + Integer.toHexString((a + b).hashCode() & 0xfffffff);
    String ifB = "w" + Integer.toHexString((a + b).hashCode() & 0xfffffff);
    run("ip", "link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b);
    addressesA.forEach(address -> addAddress(a, address, ifA));
    addressesB.forEach(address -> addAddress(b, address, ifB));
    exec(a, "ip", "link", "set", ifA, "up");
    exec(b, "ip", "link", "set", ifB, "up");
  }

  /** IPv6 addresses skip duplicate address detection, which would leave them unusable for a while. */
  private void addAddress(String ns, String address, String device) {
    if (address.contains(":")) {
      exec(ns, "ip", "addr", "add", address, "dev", device, "nodad");
    } else {
      exec(ns, "ip", "addr", "add", address, "dev", device);
    }
  }

  /**
   * A veth pair between this (the test's own) namespace and {@code ns}, so that the test process
   * can reach {@code nsAddress}. Deleting the namespace deletes the pair.
   */
  public void linkToHost(String ns, String hostAddress, String nsAddress) {
    String ifHost = "h" + Integer.toHexString(ns.hashCode() & 0xfffffff);
    String ifNs = "n" + Integer.toHexString(ns.hashCode() & 0xfffffff);
    run("ip", "link", "add", ifHost, "type", "veth", "peer", "name", ifNs, "netns", ns);
    run("ip", "addr", "add", hostAddress, "dev", ifHost);
    run("ip", "link", "set", ifHost, "up");
    exec(ns, "ip", "addr", "add", nsAddress, "dev", ifNs);
    exec(ns, "ip", "link", "set", ifNs, "up");
  }

  /** Runs a command in a namespace and returns its output; fails the test on a non-zero exit. */
  public String exec(String ns, String... command) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    full.addAll(List.of(command));
    return run(full.toArray(String[]::new));
  }

  /** Starts a long-running command in a namespace; it is stopped on close. */
  public Process spawn(String ns, String... command) throws IOException {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    full.addAll(List.of(command));
    Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
    background.add(p);
    return p;
  }

  /** The prefix that runs a command inside a namespace. */
  public static List<String> inside(String ns) {
    return List.of("ip", "netns", "exec", ns);
  }

  public String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", command) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private boolean tryRun(String... command) {
    try {
      return new ProcessBuilder(command).redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  @Override
  public void close() {
    background.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
    background.forEach(Process::destroyForcibly);
    for (String ns : created) {
      tryRun("ip", "netns", "del", ns);
    }
  }
}
