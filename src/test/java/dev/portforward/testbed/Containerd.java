package dev.portforward.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * One node's containerd (built by test-cluster/runtime/build.sh, runc and CNI plugins from Debian)
 * running inside the node's {@link NodeNamespaces}, with everything of its own under one directory:
 * root, state, sockets, config, CNI config directory ({@link #cniConfDir()}) and log. The sandbox
 * image is pinned to the build's pause image, and the build's images are imported at start into
 * namespace k8s.io, where the kubelet (and pods with imagePullPolicy Never) find them.
 *
 * <p>{@link #close()} leaves nothing behind, also after a failed test: it deletes the tasks it can,
 * kills every shim of this containerd with its containers, stops containerd, removes the shims'
 * sockets and runc's state (from the machine's /run/containerd when the node has no mount
 * namespace of its own: only empty directories stay there), unmounts everything under its directory in the node's mount
 * namespace, removes the cgroups of the containers {@link #run} started, and deletes root and
 * state (the config and the logs stay for reading).
 */
public final class Containerd implements AutoCloseable {

  /** The containerd namespace the CRI plugin (and so the kubelet) uses. */
  public static final String K8S_NAMESPACE = "k8s.io";
  private static final Path CGROUP_V1 = Path.of("/sys/fs/cgroup");

  private final NodeNamespaces node;
  private final RuntimeBuild build;
  private final Path dir;
  /** Parent cgroup of the containers {@link #run} starts, so that close() finds and removes them. */
  private final String cgroupParent = "testbed-ctr-" + UUID.randomUUID().toString().substring(0, 8);
  private Process process;

  private Containerd(NodeNamespaces node, RuntimeBuild build, Path dir) {
    this.node = node;
    this.build = build;
    this.dir = dir;
  }

  /**
   * Writes the config under {@code dir}, starts containerd inside {@code node}, waits until it
   * answers and imports the build's pause and test images.
   */
  public static Containerd start(NodeNamespaces node, RuntimeBuild build, Path dir)
      throws IOException, InterruptedException {
    Containerd containerd = new Containerd(node, build, dir);
    try {
      Files.createDirectories(containerd.cniConfDir());
      Files.writeString(dir.resolve("config.toml"), config(dir, build.pause().name()));
      containerd.start();
      containerd.importImage(build.pause().tar(), null);
      containerd.importImage(build.testapp().tar(), null);
      return containerd;
    } catch (IOException | InterruptedException | RuntimeException e) {
      containerd.close();
      throw e;
    }
  }

  /**
   * containerd 2's config (version 3) for one node among others: its own root, state and sockets,
   * the pinned sandbox image, cgroupfs (no systemd here) and the CNI plugins Debian installs.
   */
  static String config(Path dir, String sandboxImage) {
    return """
        version = 3
        root = '%1$s/root'
        state = '%1$s/state'
        [grpc]
          address = '%1$s/containerd.sock'
        [ttrpc]
          address = '%1$s/containerd.sock.ttrpc'
        [plugins.'io.containerd.cri.v1.images'.pinned_images]
          sandbox = '%2$s'
        [plugins.'io.containerd.cri.v1.runtime']
          # Root here lacks CAP_SYS_RESOURCE: without this, runc fails to raise oom_score_adj
          # ("can't get final child's PID from pipe: EOF").
          restrict_oom_score_adj = true
          # Pod network namespaces under state, not the machine's /run/netns, so that close() finds them.
          netns_mounts_under_state_dir = true
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = false
          # This machine allows root one kernel key (kernel.keys.root_maxkeys = 1) unless a kubelet
          # raised it: a session keyring per container would fail with "disk quota exceeded".
          NoNewKeyring = true
        [plugins.'io.containerd.cri.v1.runtime'.cni]
          bin_dirs = ['/usr/lib/cni']
          conf_dir = '%1$s/cni'
        """.formatted(dir, sandboxImage);
  }

  /** Starts containerd (again, after {@link #stop()}) and waits until it answers. */
  public void start() throws IOException {
    ProcessBuilder builder = node.command(List.of(build.bin().resolve("containerd").toString(),
            "--config", dir.resolve("config.toml").toString()))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
    // containerd finds its shim on PATH; the shim finds runc there too (Debian's, in /usr/sbin).
    builder.environment().put("PATH", build.bin() + ":" + System.getenv("PATH"));
    process = builder.start();
    Awaitility.await("containerd in " + node.netns() + " answers (log: " + log() + ")")
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofMillis(200))
        .failFast("containerd exited; log: " + log(), () -> !process.isAlive())
        .ignoreExceptions()
        .until(() -> ctr("version").contains("Server:"));
  }

  /** SIGTERM, as a restart or an upgrade would stop it: the shims and their containers stay. */
  public void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  /** SIGKILL, as a crash: the shims and their containers stay, and so do their mounts. */
  public void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly().waitFor();
    }
  }

  /**
   * Imports an OCI or docker-archive tarball into namespace k8s.io. {@code baseName} names an image
   * whose tarball holds only a tag, as the project's does ("ci": docker.io/library/portforward-operator
   * gives the name a pod's portforward-operator:ci resolves to); null for a full name.
   */
  public void importImage(Path tar, String baseName) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of("-n", K8S_NAMESPACE, "images", "import"));
    if (baseName != null) {
      args.addAll(List.of("--base-name", baseName));
    }
    args.add(tar.toString());
    ctr(args.toArray(String[]::new));
  }

  /** Runs ctr against this containerd, inside the node, and returns its output; throws on a non-zero exit. */
  public String ctr(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(
        List.of(build.bin().resolve("ctr").toString(), "--address", socket().toString()));
    command.addAll(Arrays.asList(args));
    return node.exec(command.toArray(String[]::new));
  }

  /**
   * Starts a container from {@code image} in namespace k8s.io, detached, in the node's network
   * namespace, with host name {@code id}, its output in {@code <dir>/<id>.log}, and {@code args}
   * (for example a command) after the image. Its cgroup is this containerd's, removed on close.
   */
  public void run(String image, String id, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("-n", K8S_NAMESPACE, "run", "--detach", "--net-host",
        "--hostname", id, "--cgroup", "/" + cgroupParent + "/" + id,
        "--runc-binary", runcWithoutNewKeyring().toString(),
        "--log-uri", "file://" + dir.resolve(id + ".log"), image, id));
    command.addAll(Arrays.asList(args));
    ctr(command.toArray(String[]::new));
  }

  /**
   * runc creating containers without a session keyring of their own, as the CRI config's
   * NoNewKeyring does (ctr has no such option): this machine allows root one kernel key.
   */
  private Path runcWithoutNewKeyring() throws IOException {
    Path wrapper = dir.resolve("runc-no-new-keyring");
    if (!Files.exists(wrapper)) {
      Files.writeString(wrapper, """
          #!/bin/sh
          for arg do
            shift
            set -- "$@" "$arg"
            case "$arg" in create|run) set -- "$@" --no-new-keyring ;; esac
          done
          exec runc "$@"
          """);
      wrapper.toFile().setExecutable(true);
    }
    return wrapper;
  }

  /** The cgroup (below every hierarchy's root) holding the containers {@link #run} starts. */
  public String cgroupParent() {
    return cgroupParent;
  }

  public Path socket() {
    return dir.resolve("containerd.sock");
  }

  /** Where the CRI plugin reads the node's CNI network configuration: write a .conflist here. */
  public Path cniConfDir() {
    return dir.resolve("cni");
  }

  public Path log() {
    return dir.resolve("containerd.log");
  }

  public Path directory() {
    return dir;
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** containerd's shims (one per container or pod sandbox), found by the address they call back. */
  public List<ProcessHandle> shims() {
    String address = socket().toString();
    return ProcessHandle.allProcesses()
        .filter(p -> {
          List<String> args = Arrays.asList(p.info().arguments().orElse(new String[0]));
          int at = args.indexOf("-address");
          return at >= 0 && at + 1 < args.size() && args.get(at + 1).equals(address);
        })
        .toList();
  }

  @Override
  public void close() {
    try {
      Set<Path> leftovers = new HashSet<>();
      shims().forEach(shim -> leftovers.addAll(leftoversOf(shim)));
      deleteTasks();
      NodeNamespaces.killTrees(this::shims, "shims of " + socket());
      stop();
      if (!leftovers.isEmpty()) {
        // Killed shims leave their files in /run/containerd, the machine's unless the node has its own.
        List<String> rm = new ArrayList<>(List.of("rm", "-rf"));
        leftovers.forEach(path -> rm.add(path.toString()));
        node.exec(rm.toArray(String[]::new));
      }
      node.unmountUnder(dir);
      removeCgroups();
      if (node.mountsUnder(dir).isEmpty()) {
        // --one-file-system: never follow a mount that survived into another file system.
        new ProcessBuilder("rm", "-rf", "--one-file-system",
                dir.resolve("root").toString(), dir.resolve("state").toString())
            .inheritIO().start().waitFor(2, TimeUnit.MINUTES);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cleaning up containerd in " + node.netns() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The socket a shim listens on: containerd names it by the hash of its address, namespace and container. */
  static Path shimSocket(Path address, String namespace, String id) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256")
          .digest((address + "/" + namespace + "/" + id).getBytes(StandardCharsets.UTF_8));
      return Path.of("/run/containerd/s", HexFormat.of().formatHex(hash));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * What a shim leaves when it is killed: its socket and runc's state of its container, both found
   * from its arguments (-namespace, -id, -address).
   */
  private static List<Path> leftoversOf(ProcessHandle shim) {
    List<String> args = Arrays.asList(shim.info().arguments().orElse(new String[0]));
    int namespace = args.indexOf("-namespace");
    int id = args.indexOf("-id");
    int address = args.indexOf("-address");
    if (namespace < 0 || id < 0 || address < 0 || Math.max(namespace, Math.max(id, address)) + 1 >= args.size()) {
      return List.of();
    }
    return List.of(
        shimSocket(Path.of(args.get(address + 1)), args.get(namespace + 1), args.get(id + 1)),
        runcState(args.get(namespace + 1), args.get(id + 1)));
  }

  /** Where runc keeps a container's state when containerd's shim runs it. */
  static Path runcState(String namespace, String id) {
    return Path.of("/run/containerd/runc", namespace, id);
  }

  /**
   * Kills and deletes every task while containerd runs, so that the shims remove their sockets and
   * runc's state, which live in the machine's /run/containerd unless the node has its own.
   */
  private void deleteTasks() {
    if (!isAlive()) {
      return;
    }
    try {
      for (String namespace : ctr("namespaces", "list", "--quiet").lines().toList()) {
        for (String task : ctr("-n", namespace, "tasks", "list", "--quiet").lines().toList()) {
          try {
            ctr("-n", namespace, "tasks", "delete", "--force", task);
          } catch (IllegalStateException alreadyGone) {
            // A task that ended meanwhile; its shim goes as the others do.
          }
        }
      }
      // containerd shuts the shims down (and cleans up after them) once their tasks are gone.
      Awaitility.await("shims of " + socket() + " ended").atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(100)).until(() -> shims().isEmpty());
    } catch (IOException | RuntimeException e) {
      // What this misses, killing the shims afterwards catches.
      System.err.println("containerd in " + node.netns() + ": deleting tasks: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Removes the cgroups of the containers run() started, in every cgroup v1 hierarchy, deepest first. */
  private void removeCgroups() throws IOException {
    if (!Files.isDirectory(CGROUP_V1)) {
      return;
    }
    try (var hierarchies = Files.list(CGROUP_V1)) {
      for (Path parent : hierarchies.map(h -> h.resolve(cgroupParent)).filter(Files::isDirectory).toList()) {
        try (var children = Files.list(parent)) {
          // cgroupfs directories go with rmdir, although they list files.
          children.filter(Files::isDirectory).forEach(child -> child.toFile().delete());
        }
        parent.toFile().delete();
      }
    }
  }
}
