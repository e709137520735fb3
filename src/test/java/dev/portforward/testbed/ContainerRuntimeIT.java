package dev.portforward.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A node's container runtime is real: containerd (built by test-cluster/runtime/build.sh) runs the
 * test image with runc inside a node's network namespace; from the machine, through the node's
 * link, nginx in it answers HTTP naming the container and the client, and its sshd and vsftpd
 * greet; the pause image sleeps until SIGTERM; and closing leaves no process, mount, cgroup, socket
 * or directory behind: with the node's own mount namespace (as nodes sharing a machine run), and
 * in the machine's after containerd crashed.
 */
class ContainerRuntimeIT {

  @Test
  void nodeWithItsOwnMountNamespaceServesTheTestImageAndLeavesNothingBehind() throws Exception {
    serveAndCleanUp(true, false);
  }

  /** Where leftovers would be the machine's, and containerd cannot clean up after itself. */
  @Test
  void nodeInTheMachinesMountNamespaceLeavesNothingBehindAfterContainerdCrashed() throws Exception {
    serveAndCleanUp(false, true);
  }

  private static void serveAndCleanUp(boolean ownMountNamespace, boolean crash) throws Exception {
    try (NetNs net = NetNs.create()) {
      RuntimeBuild build = RuntimeBuild.find();
      String ns = net.host("node");
      // A random /24, so that runs of this test on one machine do not route each other's subnet.
      String subnet = "10.77." + ThreadLocalRandom.current().nextInt(100, 250) + ".";
      String hostIp = subnet + "1";
      String nodeIp = subnet + "2";
      net.linkToHost(ns, hostIp + "/24", nodeIp + "/24");
      Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
      Path dir = Files.createTempDirectory(target, "runtime-");

      List<ProcessHandle> running;
      String cgroupParent;
      NodeNamespaces node = ownMountNamespace
          ? NodeNamespaces.isolated(ns, dir.resolve("node"), NodeNamespaces.SHARED_HOST_PATHS)
          : NodeNamespaces.network(ns);
      try (node; Containerd containerd = Containerd.start(node, build, dir.resolve("containerd"))) {
        cgroupParent = containerd.cgroupParent();
        containerd.run(build.testapp().name(), "web1");
        containerd.run(build.pause().name(), "sandbox1");
        // The test image's other servers, started as its header says.
        containerd.run(build.testapp().name(), "ssh1", "sh", "-c",
            "mkdir -p /run/sshd && ssh-keygen -A && exec /usr/sbin/sshd -D -e -p 2222");
        containerd.run(build.testapp().name(), "ftp1", "sh", "-c",
            "mkdir -p /run/vsftpd/empty && exec vsftpd -olisten=YES -olisten_ipv6=NO -olisten_port=2121");

        String answer = await("nginx in web1 answers through the node's link")
            .atMost(Duration.ofMinutes(1))
            .pollInterval(Duration.ofMillis(250))
            .ignoreExceptions()
            .until(() -> get("http://" + nodeIp + "/"), body -> !body.isEmpty());
        assertThat(answer).matches("testapp hostname=web1 server=" + nodeIp.replace(".", "\\.") + ":80 client="
            + hostIp.replace(".", "\\.") + ":\\d+\n");

        assertThat(banner(nodeIp, 2222)).as("sshd's greeting").startsWith("SSH-2.0-OpenSSH");
        assertThat(banner(nodeIp, 2121)).as("vsftpd's greeting").startsWith("220 ");

        // The pause program holds on until SIGTERM (ctr's default signal), then ends.
        assertThat(taskLine(containerd, "sandbox1")).contains("RUNNING");
        containerd.ctr("-n", Containerd.K8S_NAMESPACE, "tasks", "kill", "sandbox1");
        await("sandbox1 stopped by SIGTERM").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
            .until(() -> taskLine(containerd, "sandbox1").contains("STOPPED"));

        running = containerd.shims().stream()
            .flatMap(shim -> Stream.concat(Stream.of(shim), shim.descendants()))
            .toList();
        assertThat(running).as("shims, nginx, sshd and vsftpd").hasSizeGreaterThanOrEqualTo(7);
        assertThat(node.mountsUnder(dir)).as("web1's root file system").isNotEmpty();
        if (ownMountNamespace) {
          assertThat(mountsOnTheMachine(dir)).as("mounts stay in the node's mount namespace").isEmpty();
        }
        assertThat(cgroups(cgroupParent)).as("web1's cgroups").isNotEmpty();
        assertThat(leftovers(dir, ownMountNamespace, "web1")).as("web1's shim socket and runc state")
            .allMatch(Files::exists);
        if (crash) {
          containerd.kill();
          assertThat(get("http://" + nodeIp + "/")).as("web1 outlives containerd").startsWith("testapp hostname=web1 ");
        }
      }

      // A container killed with its shim is reaped by the machine's init a moment later.
      await("shims and containers gone after close").atMost(Duration.ofSeconds(60))
          .untilAsserted(() -> assertThat(running).noneMatch(ProcessHandle::isAlive));
      assertThat(mountsOnTheMachine(dir)).as("mounts after close").isEmpty();
      assertThat(node.processes()).as("processes in the node's mount namespace after close").isEmpty();
      assertThat(cgroups(cgroupParent)).as("cgroups after close").isEmpty();
      for (String id : List.of("web1", "sandbox1", "ssh1", "ftp1")) {
        assertThat(leftovers(dir, ownMountNamespace, id)).as(id + "'s shim socket and runc state")
            .noneMatch(Files::exists);
      }
      assertThat(dir.resolve("containerd/root")).doesNotExist();
      assertThat(dir.resolve("containerd/state")).doesNotExist();
    }
  }

  private static String get(String url) throws Exception {
    HttpClient http = HttpClient.newBuilder()
        .proxy(HttpClient.Builder.NO_PROXY)
        .connectTimeout(Duration.ofSeconds(2))
        .build();
    HttpResponse<String> response = http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    return response.statusCode() == 200 ? response.body() : "";
  }

  /**
   * Where a container's shim socket and runc state are, as seen from the machine: with its own
   * mount namespace, the node's /run/containerd is a directory under {@code dir}.
   */
  private static List<Path> leftovers(Path dir, boolean ownMountNamespace, String id) {
    Path nodeRoot = ownMountNamespace ? dir.resolve("node/private") : Path.of("/");
    return Stream.of(
            Containerd.shimSocket(dir.resolve("containerd/containerd.sock"), Containerd.K8S_NAMESPACE, id),
            Containerd.runcState(Containerd.K8S_NAMESPACE, id))
        .map(path -> nodeRoot.resolve(path.getRoot().relativize(path)))
        .toList();
  }

  /** The first line a server sends on connecting, once it listens. */
  private static String banner(String host, int port) {
    return await(host + ":" + port + " greets")
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .until(() -> {
          try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 2000);
            socket.setSoTimeout(5000);
            return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                .readLine();
          }
        }, line -> line != null && !line.isEmpty());
  }

  private static String taskLine(Containerd containerd, String id) throws Exception {
    return containerd.ctr("-n", Containerd.K8S_NAMESPACE, "tasks", "list").lines()
        .filter(line -> line.startsWith(id + " "))
        .findFirst()
        .orElse("");
  }

  private static List<String> mountsOnTheMachine(Path dir) throws Exception {
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
        .filter(line -> line.split(" ")[4].startsWith(dir.toString()))
        .toList();
  }

  private static List<Path> cgroups(String parent) throws Exception {
    try (var hierarchies = Files.list(Path.of("/sys/fs/cgroup"))) {
      return hierarchies.map(h -> h.resolve(parent)).filter(Files::isDirectory).toList();
    }
  }
}
