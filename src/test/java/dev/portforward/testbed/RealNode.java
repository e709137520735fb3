package dev.portforward.testbed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * One real Kubernetes node: a network namespace plugged into the {@link NodeNetwork}, a private
 * mount namespace (held by a sleeping process) in which the node's containerd, kubelet and
 * kube-proxy run, so that the fixed host paths they use (/var/lib/kubelet/device-plugins,
 * /var/log/pods, /var/log/containers, /var/lib/cni, /run/containerd) are the node's own, its own
 * cgroup root in every cgroup hierarchy, and a bridge CNI network for its pod CIDR.
 *
 * <p>close() leaves nothing behind: it stops the components, kills every process in the node's
 * cgroups and mount namespace (containers, shims), removes the cgroups, the namespace and its
 * links, and the runtime's data.
 */
public final class RealNode implements AutoCloseable {

  private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
  /** Host paths that every kubelet/containerd pair would share: each node mounts its own over them. */
  private static final List<String> PRIVATE_PATHS = List.of(
      "/var/lib/kubelet/device-plugins", "/var/log/pods", "/var/log/containers", "/var/lib/cni", "/run/containerd");

  private final String name;
  private final int index;
  private final NodeNetwork network;
  private final ControlPlane cp;
  private final NodeRuntime runtime;
  private final Path dir;
  private final String ns;
  private final List<Path> cgroups = new ArrayList<>();
  private Process holder;
  private Process containerd;
  private Process kubelet;
  private Process kubeProxy;

  /** An OCI image tarball to import; {@code baseName} names an image whose tarball holds only a tag, else null. */
  public record Image(Path tar, String baseName) {}

  private RealNode(String name, int index, NodeNetwork network, ControlPlane cp, NodeRuntime runtime, Path dir) {
    this.name = name;
    this.index = index;
    this.network = network;
    this.cp = cp;
    this.runtime = runtime;
    this.dir = dir;
    this.ns = network.prefix() + "-" + name;
  }

  /**
   * Starts node {@code name} (number {@code index}, 1-based, of {@code nodes}): network, containerd
   * with {@code images} imported, kubelet and kube-proxy. Does not wait for the node to be Ready.
   */
  public static RealNode start(String name, int index, int nodes, NodeNetwork network, ControlPlane cp,
      NodeRuntime runtime, Path dir, List<Image> images) throws IOException, InterruptedException {
    RealNode node = new RealNode(name, index, network, cp, runtime, dir);
    try {
      node.startNetwork(nodes);
      node.createCgroups();
      node.startHolder();
      node.startContainerd(images);
      node.startKubelet();
      node.startKubeProxy();
      return node;
    } catch (IOException | InterruptedException | RuntimeException e) {
      node.close();
      throw e;
    }
  }

  public String name() {
    return name;
  }

  public String address() {
    return network.nodeAddress(index);
  }

  /** The node's network namespace, for {@code ip netns exec}. */
  public String netns() {
    return ns;
  }

  public Path directory() {
    return dir;
  }

  public boolean kubeletAlive() {
    return kubelet != null && kubelet.isAlive();
  }

  /** Stops the kubelet (SIGKILL), as a crashed kubelet; its pods keep running. */
  public void killKubelet() throws InterruptedException {
    kubelet.destroyForcibly().waitFor();
  }

  /** Starts the kubelet again after {@link #killKubelet}. */
  public void restartKubelet() throws IOException {
    startKubelet();
  }

  private void startNetwork(int nodes) {
    NodeNetwork.run("ip", "netns", "add", ns);
    NodeNetwork.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    network.plug(ns, network.prefix() + "h" + index, address());
    NodeNetwork.run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    // No default route (nothing leaves the test bed); the node's own connections to ClusterIPs
    // (hostNetwork pods: the agent) need a route before kube-proxy's DNAT rewrites them.
    NodeNetwork.run("ip", "netns", "exec", ns, "ip", "route", "add", NodeCluster.SERVICE_CIDR, "via",
        network.hostAddress());
    for (int other = 1; other <= nodes; other++) {
      if (other != index) {
        NodeNetwork.run("ip", "netns", "exec", ns, "ip", "route", "add", network.podCidr(other), "via",
            network.nodeAddress(other));
      }
    }
    network.routePods(index);
  }

  /**
   * The node's cgroup root in every hierarchy, with the cpuset of its parent: kubelet needs it in
   * each v1 hierarchy, and runc also uses the unified one of a hybrid layout, so close() removes
   * it there too.
   */
  private void createCgroups() throws IOException {
    try (Stream<Path> hierarchies = Files.list(CGROUP_ROOT)) {
      for (Path hierarchy : hierarchies.toList()) {
        if (!Files.isDirectory(hierarchy) || Files.isSymbolicLink(hierarchy)) {
          continue;
        }
        Path cgroup = hierarchy.resolve(ns);
        Files.createDirectories(cgroup);
        cgroups.add(cgroup);
        if (hierarchy.getFileName().toString().equals("cpuset")) {
          Files.writeString(cgroup.resolve("cpuset.cpus"), Files.readString(hierarchy.resolve("cpuset.cpus")));
          Files.writeString(cgroup.resolve("cpuset.mems"), Files.readString(hierarchy.resolve("cpuset.mems")));
        }
      }
    }
  }

  /** A process holding the node's network namespace and a private mount namespace with its own paths. */
  private void startHolder() throws IOException {
    StringBuilder script = new StringBuilder("set -e\n");
    for (String path : PRIVATE_PATHS) {
      // The mount point must exist; an empty directory stays (removing it while another node's
      // namespace mounts over it would take that mount away).
      Files.createDirectories(Path.of(path));
      Path own = dir.resolve("mnt" + path.replace('/', '-'));
      Files.createDirectories(own);
      script.append("mount --bind '").append(own).append("' '").append(path).append("'\n");
    }
    // Named after the node, so that a holder left behind would be found by name.
    script.append("echo ready\nexec -a '").append(ns).append("-holder' sleep infinity\n");
    holder = new ProcessBuilder("nsenter", "--net=/var/run/netns/" + ns, "--",
        "unshare", "--mount", "--propagation", "private", "--", "bash", "-c", script.toString())
        .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("holder.log").toFile()))
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (!"ready".equals(line)) {
      throw new IllegalStateException("node " + name + ": the namespace holder failed; see " + dir.resolve("holder.log"));
    }
  }

  private ProcessBuilder inNode(String log, List<String> command) {
    List<String> full = new ArrayList<>(List.of("nsenter", "-t", Long.toString(holder.pid()), "-m", "-n", "--"));
    full.addAll(command);
    return new ProcessBuilder(full)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile()));
  }

  /** Runs a command inside the node (its network and mount namespaces) and returns its output. */
  public String exec(String... command) throws IOException, InterruptedException {
    Process p = inNode("exec.log", List.of(command)).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("node " + name + ": " + String.join(" ", command) + " failed: " + out);
    }
    return out;
  }

  private Path socket() {
    return dir.resolve("containerd/containerd.sock");
  }

  private void startContainerd(List<Image> images) throws IOException, InterruptedException {
    Path root = dir.resolve("containerd");
    Files.createDirectories(root.resolve("cni"));
    Files.writeString(root.resolve("cni/10-bridge.conflist"), """
        {"cniVersion": "1.0.0", "name": "testbed", "plugins": [
          {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
           "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
        """.formatted(network.podCidr(index)));
    Files.writeString(root.resolve("config.toml"), """
        version = 3
        root = '%1$s/root'
        state = '%1$s/state'
        [grpc]
          address = '%2$s'
        [ttrpc]
          address = '%2$s.ttrpc'
        [plugins.'io.containerd.cri.v1.images'.pinned_images]
          sandbox = '%3$s'
        [plugins.'io.containerd.cri.v1.runtime']
          # root here lacks CAP_SYS_RESOURCE: runc must not raise oom_score_adj.
          restrict_oom_score_adj = true
          netns_mounts_under_state_dir = true
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = false
        [plugins.'io.containerd.cri.v1.runtime'.cni]
          bin_dirs = ['/usr/lib/cni']
          conf_dir = '%1$s/cni'
        """.formatted(root, socket(), runtime.pauseImage()));
    Path runtimeBin = runtime.bin();
    String path = runtimeBin + ":" + System.getenv("PATH");
    ProcessBuilder builder = inNode("containerd.log",
        List.of(runtimeBin.resolve("containerd").toString(), "--config", root.resolve("config.toml").toString()));
    builder.environment().put("PATH", path);
    containerd = builder.start();
    Awaitility.await("node " + name + ": containerd up (log: " + dir.resolve("containerd.log") + ")")
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(200))
        .failFast("containerd exited", () -> !containerd.isAlive())
        .until(() -> Files.exists(socket()));
    List<Image> all = new ArrayList<>(List.of(new Image(runtime.pauseTar(), null), new Image(runtime.testappTar(), null)));
    all.addAll(images);
    for (Image image : all) {
      importImage(image);
    }
  }

  /** Imports an image into the node's containerd, where pods with imagePullPolicy Never find it. */
  public void importImage(Image image) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(runtime.bin().resolve("ctr").toString(), "--address",
        socket().toString(), "-n", "k8s.io", "images", "import"));
    if (image.baseName() != null) {
      command.addAll(List.of("--base-name", image.baseName()));
    }
    command.add(image.tar().toString());
    exec(command.toArray(String[]::new));
  }

  private void startKubelet() throws IOException {
    Path kubeletDir = dir.resolve("kubelet");
    Files.createDirectories(kubeletDir);
    Path kubeconfig = dir.resolve("kubelet.kubeconfig");
    writeKubeconfig(kubeconfig, ControlPlane.nodeToken(name));
    Path config = dir.resolve("kubelet.yaml");
    Files.writeString(config, """
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        # This machine mounts cgroup v1 hierarchies.
        cgroupDriver: cgroupfs
        failCgroupV1: false
        failSwapOn: false
        cgroupRoot: /%s
        address: %s
        readOnlyPort: 0
        resolvConf: ""
        podLogsDir: %s
        containerRuntimeEndpoint: unix://%s
        authentication:
          anonymous: {enabled: false}
          webhook: {enabled: true}
          x509: {clientCAFile: %s}
        authorization:
          mode: Webhook
        evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
        imageGCHighThresholdPercent: 100
        imageGCLowThresholdPercent: 99
        serializeImagePulls: false
        maxPods: 60
        volumePluginDir: %s
        """.formatted(ns, address(), dir.resolve("pod-logs"), socket(), cp.kubeletClientCaFile(),
        kubeletDir.resolve("volume-plugins")));
    kubelet = inNode("kubelet.log", List.of(
        cp.binDirectory().resolve("kubelet").toString(),
        "--config=" + config,
        "--kubeconfig=" + kubeconfig,
        "--root-dir=" + kubeletDir,
        "--cert-dir=" + kubeletDir.resolve("pki"),
        "--hostname-override=" + name,
        "--node-ip=" + address())).start();
  }

  private void startKubeProxy() throws IOException {
    Path kubeconfig = dir.resolve("kube-proxy.kubeconfig");
    writeKubeconfig(kubeconfig, ControlPlane.ADMIN_TOKEN);
    Path config = dir.resolve("kube-proxy.yaml");
    // conntrack: all zero, so that kube-proxy leaves the machine-wide conntrack settings alone.
    Files.writeString(config, """
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: nftables
        clientConnection: {kubeconfig: %s}
        hostnameOverride: %s
        clusterCIDR: %s
        conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
        """.formatted(kubeconfig, name, network.clusterCidr()));
    kubeProxy = inNode("kube-proxy.log", List.of(
        cp.binDirectory().resolve("kube-proxy").toString(), "--config=" + config)).start();
  }

  private void writeKubeconfig(Path file, String token) throws IOException {
    Files.writeString(file, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: testbed
          cluster: {server: %s, certificate-authority: %s}
        users:
        - name: node
          user: {token: %s}
        contexts:
        - name: testbed
          context: {cluster: testbed, user: node}
        current-context: testbed
        """.formatted(cp.url(), cp.caFile(), token));
  }

  @Override
  public synchronized void close() {
    stop(kubeProxy);
    stop(kubelet);
    killCgroupProcesses();
    stop(containerd);
    killMountNamespaceProcesses();
    if (holder != null) {
      holder.destroyForcibly();
      waitQuietly(holder);
    }
    removeCgroups();
    NodeNetwork.tryRun("ip", "netns", "del", ns);
    // Images and container layers are large; the logs stay for reading.
    deleteTree(dir.resolve("containerd/root"));
    deleteTree(dir.resolve("kubelet"));
  }

  /** SIGKILL: the node goes away whole, nothing of it needs to shut down in order. */
  private static void stop(Process p) {
    if (p == null || !p.isAlive()) {
      return;
    }
    try {
      p.destroyForcibly().waitFor(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void waitQuietly(Process p) {
    try {
      p.waitFor(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Kills every process in the node's cgroups (the containers) until none is left. */
  private void killCgroupProcesses() {
    for (int round = 0; round < 50; round++) {
      List<Long> pids = cgroupPids();
      if (pids.isEmpty()) {
        return;
      }
      pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      sleepBriefly();
    }
  }

  private List<Long> cgroupPids() {
    List<Long> pids = new ArrayList<>();
    for (Path cgroup : cgroups) {
      if (!Files.isDirectory(cgroup)) {
        continue;
      }
      try (Stream<Path> tree = Files.walk(cgroup)) {
        for (Path procs : tree.filter(p -> p.getFileName().toString().equals("cgroup.procs")).toList()) {
          for (String line : Files.readAllLines(procs)) {
            if (!line.isBlank()) {
              pids.add(Long.parseLong(line.strip()));
            }
          }
        }
      } catch (IOException | java.io.UncheckedIOException e) {
        // A cgroup removed while walking: the next round sees the rest.
      }
    }
    return pids;
  }

  /** Kills every process left in the node's mount namespace (the runtime's shims), except the holder. */
  private void killMountNamespaceProcesses() {
    if (holder == null || !holder.isAlive()) {
      return;
    }
    String mnt;
    try {
      mnt = Files.readSymbolicLink(Path.of("/proc", Long.toString(holder.pid()), "ns/mnt")).toString();
    } catch (IOException e) {
      return;
    }
    for (int round = 0; round < 50; round++) {
      List<ProcessHandle> left = ProcessHandle.allProcesses()
          .filter(p -> p.pid() != holder.pid() && mnt.equals(mountNamespace(p.pid())))
          .toList();
      if (left.isEmpty()) {
        return;
      }
      left.forEach(ProcessHandle::destroyForcibly);
      sleepBriefly();
    }
  }

  private static String mountNamespace(long pid) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns/mnt")).toString();
    } catch (IOException e) {
      return "";
    }
  }

  /** Removes the node's cgroups, deepest first (kubelet's pod and QoS cgroups are inside). */
  private void removeCgroups() {
    for (int round = 0; round < 50 && !cgroups.isEmpty(); round++) {
      for (Path cgroup : List.copyOf(cgroups)) {
        if (!Files.exists(cgroup)) {
          cgroups.remove(cgroup);
          continue;
        }
        try (Stream<Path> tree = Files.walk(cgroup)) {
          tree.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).forEach(RealNode::rmdirQuietly);
        } catch (IOException | java.io.UncheckedIOException e) {
          // Retried next round.
        }
      }
      if (!cgroups.isEmpty()) {
        killCgroupProcesses();
      }
    }
  }

  private static void rmdirQuietly(Path cgroup) {
    // cgroupfs directories are removed with rmdir even though they list files.
    cgroup.toFile().delete();
  }

  private static void sleepBriefly() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    NodeNetwork.tryRun("rm", "-rf", "--one-file-system", root.toString());
  }
}
