package dev.portforward.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real Kubernetes node: a network namespace plugged into the {@link NodeNetwork}, with a
 * private mount namespace ({@link NodeNamespaces#isolated}) in which the node's {@link Containerd},
 * kubelet and kube-proxy run, its own cgroup root in every cgroup hierarchy, and a bridge CNI
 * network for its pod CIDR.
 *
 * <p>close() leaves nothing behind: it stops the components, kills every process in the node's
 * cgroups (the containers) and mount namespace (shims), removes the cgroups, the namespace and its
 * links, and the runtime's data.
 */
public final class RealNode implements AutoCloseable {

  private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");

  private final String name;
  private final int index;
  private final NodeNetwork network;
  private final ControlPlane cp;
  private final RuntimeBuild runtime;
  private final Path dir;
  private final String ns;
  private final List<Path> cgroups = new ArrayList<>();
  private NodeNamespaces namespaces;
  private Containerd containerd;
  private Process kubelet;
  private Process kubeProxy;

  /** An OCI image tarball to import; {@code baseName} names an image whose tarball holds only a tag, else null. */
  public record Image(Path tar, String baseName) {}

  private RealNode(String name, int index, NodeNetwork network, ControlPlane cp, RuntimeBuild runtime, Path dir) {
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
      RuntimeBuild runtime, Path dir, List<Image> images) throws IOException, InterruptedException {
    RealNode node = new RealNode(name, index, network, cp, runtime, dir);
    try {
      node.startNetwork(nodes);
      node.createCgroups();
      node.namespaces = NodeNamespaces.isolated(node.ns, dir, NodeNamespaces.SHARED_HOST_PATHS);
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

  /** SIGTERM to the kubelet, as a node's operator stops it: the pods keep running without it. */
  public void stopKubelet() throws InterruptedException {
    if (kubeletAlive()) {
      kubelet.destroy();
      if (!kubelet.waitFor(30, TimeUnit.SECONDS)) {
        kubelet.destroyForcibly().waitFor();
      }
    }
  }

  /** SIGKILL to the kubelet, as a crash: the pods keep running without it. */
  public void killKubelet() throws InterruptedException {
    if (kubeletAlive()) {
      kubelet.destroyForcibly().waitFor();
    }
  }

  /** Starts the kubelet again after {@link #stopKubelet()} or {@link #killKubelet()}. */
  public void restartKubelet() throws IOException {
    if (!kubeletAlive()) {
      startKubelet();
    }
  }

  /** Restarts containerd (SIGTERM, then start): the containers and their shims stay. */
  public void restartContainerd() throws IOException, InterruptedException {
    containerd.stop();
    containerd.start();
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

  private ProcessBuilder inNode(String log, List<String> command) {
    return namespaces.command(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile()));
  }

  /** Runs a command inside the node (its network and mount namespaces) and returns its output. */
  public String exec(String... command) throws IOException, InterruptedException {
    return namespaces.exec(command);
  }

  /** containerd with the runtime's images and {@code images}, and the bridge CNI network for the pod CIDR. */
  private void startContainerd(List<Image> images) throws IOException, InterruptedException {
    containerd = Containerd.start(namespaces, runtime, dir.resolve("containerd"));
    // containerd's CRI plugin watches its CNI directory: the node turns Ready once this is there.
    Files.writeString(containerd.cniConfDir().resolve("10-bridge.conflist"), """
        {"cniVersion": "1.0.0", "name": "testbed", "plugins": [
          {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
           "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
        """.formatted(network.podCidr(index)));
    for (Image image : images) {
      importImage(image);
    }
  }

  /** Runs ctr against the node's containerd, inside the node, and returns its output. */
  public String ctr(String... args) throws IOException, InterruptedException {
    return containerd.ctr(args);
  }

  /** Imports an image into the node's containerd, where pods with imagePullPolicy Never find it. */
  public void importImage(Image image) throws IOException, InterruptedException {
    containerd.importImage(image.tar(), image.baseName());
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
        evictionHard:
          {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
        imageGCHighThresholdPercent: 100
        imageGCLowThresholdPercent: 99
        serializeImagePulls: false
        maxPods: 60
        # Renewed every quarter of it: well inside the controller-manager's node monitor grace period.
        nodeLeaseDurationSeconds: 8
        volumePluginDir: %s
        """.formatted(ns, address(), dir.resolve("pod-logs"), containerd.socket(), cp.kubeletClientCaFile(),
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
    if (containerd != null) {
      try {
        containerd.close();
      } catch (RuntimeException e) {
        // Whatever containerd leaves, the node's namespaces, cgroups and link still go.
        System.err.println("node " + name + ": " + e.getMessage());
      }
    }
    if (namespaces != null) {
      namespaces.close();
    }
    removeCgroups();
    NodeNetwork.tryRun("ip", "netns", "del", ns);
    // Container layers (containerd.close removes them) and pod volumes are large; the logs stay.
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
