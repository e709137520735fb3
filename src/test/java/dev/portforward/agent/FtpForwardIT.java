package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.Limits;
import dev.portforward.agent.nft.Nft;
import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * FTP through a kernel forward: a real vsftpd in a pod namespace, the real curl in the client
 * namespace, and the rules the agent renders for applicationProtocol FTP in the node namespace.
 * The forward listens on 2121 and the server on 21, so the kernel's helper must follow the
 * forward's port, not FTP's.
 */
class FtpForwardIT {

  private static final int LISTEN_PORT = 2121;

  private NodeTopology hosts;
  private NetNs net;
  private NodeSync sync;
  private Path work;
  private Path root;
  private Path uploads;
  private byte[] served;

  @BeforeEach
  void vsftpdBehindTheNode() throws IOException {
    hosts = NodeTopology.create();
    net = hosts.net;
    sync = new NodeSync(new Nft(NetNs.inside(hosts.node)));
    work = Files.createTempDirectory("ftp-forward");
    root = Files.createDirectories(work.resolve("root"));
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    uploads = Files.createDirectories(root.resolve("uploads"));
    Files.setPosixFilePermissions(uploads, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path empty = Files.createDirectories(work.resolve("empty"));
    served = new byte[3 * 1024 * 1024 + 17];
    new Random(21).nextBytes(served);
    Files.write(root.resolve("served.bin"), served);
    Path config = Files.writeString(work.resolve("vsftpd.conf"), String.join("\n",
        "listen=YES", "listen_ipv6=NO", "listen_port=21", "background=NO",
        "anonymous_enable=YES", "no_anon_password=YES", "local_enable=NO", "anon_root=" + root,
        "write_enable=YES", "anon_upload_enable=YES", "anon_umask=022",
        "pasv_enable=YES", "pasv_min_port=40100", "pasv_max_port=40120", "port_enable=YES",
        "connect_from_port_20=NO", "seccomp_sandbox=NO", "isolate=NO", "isolate_network=NO",
        "secure_chroot_dir=" + empty, "xferlog_enable=NO", ""));
    net.spawn(hosts.pod1, "vsftpd", config.toString());
    await("vsftpd listening in the pod").atMost(Duration.ofSeconds(20))
        .until(() -> net.exec(hosts.pod1, "ss", "-Hltn", "sport = :21").contains(":21"));
  }

  @AfterEach
  void teardown() throws IOException {
    hosts.close();
    try (var files = Files.walk(work)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void passiveTransfersArriveWholeAndThePodsAddressNeverLeavesTheNode() throws Exception {
    apply(ApplicationProtocol.FTP);

    Path extended = Files.createTempFile(work, "down", ".bin");
    curl("--disable-eprt", "-o", extended.toString(), url("served.bin"));
    assertThat(sha256(Files.readAllBytes(extended))).as("EPSV download").isEqualTo(sha256(served));

    Path classic = Files.createTempFile(work, "down", ".bin");
    String dialogue = curl("--disable-epsv", "-v", "-o", classic.toString(), url("served.bin"));
    assertThat(sha256(Files.readAllBytes(classic))).as("PASV download").isEqualTo(sha256(served));
    assertThat(dialogue).as("the PASV reply names the node, not the pod")
        .contains("227 Entering Passive Mode (10,77,1,1,").doesNotContain("10,77,2,2");

    Path upload = Files.write(Files.createTempFile(work, "up", ".bin"), reversed(served));
    curl("-T", upload.toString(), url("uploads/passive.bin"));
    assertThat(sha256(Files.readAllBytes(uploads.resolve("passive.bin")))).as("passive upload")
        .isEqualTo(sha256(reversed(served)));
  }

  @Test
  void activeTransfersArriveWholeFromTheNodesAddress() throws Exception {
    apply(ApplicationProtocol.FTP);

    Path upload = Files.write(Files.createTempFile(work, "up", ".bin"), served);
    curl("--ftp-port", "-", "--disable-eprt", "-T", upload.toString(), url("uploads/port.bin"));
    assertThat(sha256(Files.readAllBytes(uploads.resolve("port.bin")))).as("PORT upload").isEqualTo(sha256(served));

    Path download = Files.createTempFile(work, "down", ".bin");
    curl("--ftp-port", "-", "-o", download.toString(), url("served.bin"));
    assertThat(sha256(Files.readAllBytes(download))).as("EPRT download").isEqualTo(sha256(served));
    assertThat(net.exec(hosts.node, "conntrack", "-L", "-p", "tcp", "--orig-src", NodeTopology.POD1_IP,
        "--orig-dst", NodeTopology.CLIENT_IP))
        .as("the data connection reaches the client from the node's address, as the client expects")
        .contains("dst=" + NodeTopology.NODE_IP);
  }

  @Test
  void withoutTheHelperPassiveModeFails() {
    apply(ApplicationProtocol.None);

    assertThat(curl("--head", url("served.bin"))).as("SIZE over the control connection alone")
        .contains("Content-Length: " + served.length);
    assertThatThrownBy(() -> curl("--disable-epsv", "-o", "/dev/null", url("served.bin")))
        .as("PASV: the pod's data port is not forwarded").isInstanceOf(IllegalStateException.class);
  }

  @Test
  void removingTheForwardRemovesItsHelper() {
    apply(ApplicationProtocol.FTP);
    assertThat(net.exec(hosts.node, "nft", "list", "ruleset")).contains("ct helper");

    assertThat(sync.sync(List.of()).error()).isNull();

    assertThat(net.exec(hosts.node, "nft", "list", "ruleset")).doesNotContain("ct helper");
  }

  private void apply(ApplicationProtocol applicationProtocol) {
    NodeForward ftp = new NodeForward("shop", "ftp", 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, LISTEN_PORT,
        List.of(Cidr.parse("10.77.1.0/24")), List.of(),
        List.of(new Backend(Cidr.parseAddress(NodeTopology.POD1_IP), 21)), Limits.NONE, applicationProtocol);
    assertThat(sync.sync(List.of(ftp)).error()).isNull();
  }

  private String curl(String... args) {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--connect-timeout", "5"));
    command.addAll(List.of(args));
    return net.exec(hosts.client, command.toArray(String[]::new));
  }

  private static String url(String path) {
    return "ftp://" + NodeTopology.NODE_IP + ":" + LISTEN_PORT + "/" + path;
  }

  private static byte[] reversed(byte[] bytes) {
    byte[] out = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      out[i] = bytes[bytes.length - 1 - i];
    }
    return out;
  }

  private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
