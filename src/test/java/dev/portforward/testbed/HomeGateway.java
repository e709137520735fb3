package dev.portforward.testbed;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.awaitility.Awaitility;

/**
 * A real home gateway: miniupnpd (Debian's miniupnpd-nftables, speaking UPnP IGD, NAT-PMP and PCP)
 * in a router namespace, with its LAN side linked to the test's own network namespace, so the
 * test process is a host on the router's LAN, and its WAN side to a namespace of its own.
 *
 * <pre>
 * test process 10.77.N.2 -- 10.77.N.1 router (miniupnpd) 10.77.(N+100).1 -- 10.77.(N+100).2 wan
 * </pre>
 *
 * miniupnpd refuses to map when its WAN address is private or reserved, so it is told an external
 * address ({@link #EXTERNAL_IP}); that address is only ever reported through the protocols, and no
 * test sends a packet to it.
 */
public final class HomeGateway implements AutoCloseable {

  /** What the router says its external address is; never a destination of any test traffic. */
  public static final String EXTERNAL_IP = "11.77.77.77";

  private final NetNs net;
  private final String router;
  private final String lanAddress;
  private final String hostAddress;
  private final String wanInterface;
  private final String lanInterface;
  private final Path config;
  private final Path log;
  private Process daemon;

  private HomeGateway(NetNs net, int subnet) throws IOException {
    this.net = net;
    String id = UUID.randomUUID().toString().substring(0, 6);
    router = net.host("router");
    String wan = net.host("wan");
    lanAddress = "10.77." + subnet + ".1";
    hostAddress = "10.77." + subnet + ".2";
    lanInterface = "gl" + id;
    wanInterface = "gw" + id;
    String hostInterface = "gh" + id;
    net.run("ip", "link", "add", hostInterface, "type", "veth", "peer", "name", lanInterface, "netns", router);
    net.run("ip", "addr", "add", hostAddress + "/24", "dev", hostInterface);
    net.run("ip", "link", "set", hostInterface, "up");
    net.exec(router, "ip", "addr", "add", lanAddress + "/24", "dev", lanInterface);
    net.exec(router, "ip", "link", "set", lanInterface, "up");
    net.run("ip", "link", "add", wanInterface, "netns", router, "type", "veth", "peer", "name", "gv" + id, "netns", wan);
    net.exec(router, "ip", "addr", "add", "10.77." + (subnet + 100) + ".1/24", "dev", wanInterface);
    net.exec(router, "ip", "link", "set", wanInterface, "up");
    net.exec(wan, "ip", "addr", "add", "10.77." + (subnet + 100) + ".2/24", "dev", "gv" + id);
    net.exec(wan, "ip", "link", "set", "gv" + id, "up");
    net.exec(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    // miniupnpd only adds rules to these chains; it expects them to exist (Debian's nft_init.sh
    // does not work), all in table inet filter.
    Path skeleton = Files.createTempFile("miniupnpd-", ".nft");
    Files.writeString(skeleton, """
        table inet filter {
          chain miniupnpd { }
          chain prerouting_miniupnpd { }
          chain postrouting_miniupnpd { }
          chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
          chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
          chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
        }
        """);
    try {
      net.exec(router, "nft", "-f", skeleton.toString());
    } finally {
      Files.delete(skeleton);
    }
    log = ControlPlane.projectRoot().resolve("target/testbed-miniupnpd-" + id + ".log");
    config = Files.createTempFile("miniupnpd-", ".conf");
    Files.writeString(config, String.join("\n",
        "ext_ifname=" + wanInterface,
        "ext_ip=" + EXTERNAL_IP,
        "listening_ip=" + lanInterface,
        "enable_natpmp=yes",
        "enable_upnp=yes",
        "secure_mode=no",
        "uuid=3d3cec3a-8cf0-11e0-98ee-" + id + "000000",
        "allow 1024-65535 10.77." + subnet + ".0/24 1024-65535",
        "deny 0-65535 0.0.0.0/0 0-65535",
        ""));
  }

  /**
   * A gateway on LAN 10.77.{@code subnet}.0/24 (each test its own subnet), started; skips the
   * calling test, saying why, where miniupnpd is not installed.
   */
  public static HomeGateway start(NetNs net, int subnet) throws IOException, InterruptedException {
    assumeTrue(Files.isExecutable(Path.of("/usr/sbin/miniupnpd")),
        "skipped: miniupnpd is needed (Debian package miniupnpd-nftables)");
    HomeGateway gateway = new HomeGateway(net, freeSubnet(net, subnet));
    try {
      gateway.startDaemon();
    } catch (RuntimeException | IOException e) {
      // The caller never gets it to close: a daemon left running would answer the next test's SSDP.
      gateway.close();
      throw e;
    }
    return gateway;
  }

  /**
   * {@code preferred}, or the next subnet from it that no address of this host's own network
   * namespace is in: the LAN side lives there, and another test run on the same machine may hold
   * the same subnet at the same time (two addresses in one subnet would route to either router).
   */
  private static int freeSubnet(NetNs net, int preferred) {
    String addresses = net.run("ip", "-o", "-4", "addr", "show");
    for (int subnet = preferred; subnet < 100; subnet++) {
      if (!addresses.contains(" 10.77." + subnet + ".") && !addresses.contains(" 10.77." + (subnet + 100) + ".")) {
        return subnet;
      }
    }
    throw new IllegalStateException("no free subnet 10.77.N.0/24 from " + preferred + " on this host");
  }

  /** The router's LAN address: the gateway the test's host uses. */
  public String lanAddress() {
    return lanAddress;
  }

  /** The test process's address on the router's LAN: where mappings lead. */
  public String hostAddress() {
    return hostAddress;
  }

  /** The DNAT rules miniupnpd put in place for mappings, one line each. */
  public String dnatRules() {
    return net.exec(router, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd");
  }

  /**
   * A reboot: miniupnpd stops, the router's kernel forgets the mapping rules, and miniupnpd starts
   * again. (Stopping miniupnpd alone is no reboot: it leaves its nftables rules in place, and reads
   * them back as mappings when it starts.)
   */
  public void reboot() throws IOException, InterruptedException {
    stopDaemon();
    for (String chain : List.of("miniupnpd", "prerouting_miniupnpd", "postrouting_miniupnpd")) {
      net.exec(router, "nft", "flush", "chain", "inet", "filter", chain);
    }
    startDaemon();
  }

  /**
   * miniupnpd stops, so that the gateway answers nothing, while the router's kernel keeps the
   * mapping rules; {@link #resume} starts it again, and it reads them back as mappings.
   */
  public void pause() throws InterruptedException {
    stopDaemon();
  }

  /** Starts miniupnpd again after {@link #pause}. */
  public void resume() throws IOException {
    startDaemon();
  }

  /** miniupnpd's debug log, which says why it refused something. */
  public Path log() {
    return log;
  }

  private void startDaemon() throws IOException {
    // Its own log file: miniupnpd -d logs every request, and would block on a pipe nobody reads.
    List<String> command = new ArrayList<>(NetNs.inside(router));
    // Its own pid file too: with the default one, a second gateway on the machine refuses to start.
    Path pidFile = log.resolveSibling(log.getFileName().toString().replace(".log", ".pid"));
    command.addAll(List.of("miniupnpd", "-d", "-f", config.toString(), "-P", pidFile.toString()));
    daemon = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    Awaitility.await("miniupnpd listening")
        .atMost(Duration.ofSeconds(20))
        .failFast("miniupnpd exited", () -> !daemon.isAlive())
        .until(() -> net.exec(router, "ss", "-lnu"), sockets -> sockets.contains(lanAddress + ":5351")
            && sockets.contains(":1900"));
    // The UPnP control URL: an HTTP port of the daemon's choosing (bound to the LAN interface),
    // which SSDP answers name; nothing else listens in the router's namespace.
    Awaitility.await("miniupnpd serving HTTP")
        .atMost(Duration.ofSeconds(20))
        .failFast("miniupnpd exited", () -> !daemon.isAlive())
        .until(() -> net.exec(router, "ss", "-Hlnt"), sockets -> sockets.contains("LISTEN"));
  }

  private void stopDaemon() throws InterruptedException {
    daemon.destroy();
    daemon.waitFor();
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (daemon != null && daemon.isAlive()) {
      stopDaemon();
    }
    Files.deleteIfExists(config);
  }
}
