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
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/**
 * Where one test-bed node's processes run: a network namespace, and either the machine's mount
 * namespace or a private one of the node's own. Commands enter with nsenter, never with
 * {@code ip netns exec}, whose throw-away mount namespace would hide kubelet's mounts from
 * containerd.
 *
 * <p>Several nodes on one machine need the private mount namespace: kubelet and containerd use
 * fixed host paths ({@link #SHARED_HOST_PATHS}), which there are bind mounts of the node's own
 * directories. A holder process keeps that namespace alive; what runs in it (containerd, kubelet,
 * shims) enters with {@code nsenter --mount=/proc/<holder>/ns/mnt}. Mounts made inside (container
 * root filesystems, network namespace files, volumes) never reach the machine and vanish with the
 * namespace. {@link #close()} kills every process left in it and its children (the containers),
 * then the holder; the holder also ends when the test JVM dies, since it waits on its stdin.
 */
public final class NodeNamespaces implements AutoCloseable {

  /** Host paths every kubelet/containerd pair writes to: each node needs its own. */
  public static final List<String> SHARED_HOST_PATHS = List.of(
      "/run/containerd", "/var/lib/cni", "/var/lib/kubelet/device-plugins", "/var/log/pods", "/var/log/containers");

  private static final Pattern OCTAL_ESCAPE = Pattern.compile("\\\\([0-7]{3})");

  private final String netns;
  /** Holds the private mount namespace; null: the node uses the machine's. */
  private final Process holder;
  private final String mountNamespace;

  private NodeNamespaces(String netns, Process holder) throws IOException {
    this.netns = netns;
    this.holder = holder;
    this.mountNamespace = holder == null ? null : namespaceOf(holder.pid(), "mnt");
  }

  /** Network namespace {@code netns} (as {@code ip netns add} named it) and the machine's mount namespace. */
  public static NodeNamespaces network(String netns) throws IOException {
    return new NodeNamespaces(netns, null);
  }

  /**
   * Network namespace {@code netns} and a new private mount namespace, in which each of
   * {@code privatePaths} is a bind mount of a directory under {@code dir} ({@code dir}/private/...).
   * A missing mount point is created on the machine and stays, empty: removing it could take the
   * mount away from another node that uses the same path.
   */
  public static NodeNamespaces isolated(String netns, Path dir, List<String> privatePaths) throws IOException {
    List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + netns, "--",
        "unshare", "--mount", "--propagation", "private", "--", "sh", "-ec",
        "while [ $# -gt 0 ]; do mount --bind \"$1\" \"$2\"; shift 2; done; echo ready; exec cat >/dev/null",
        "holder"));
    for (String path : privatePaths) {
      Path own = dir.resolve("private" + path);
      Files.createDirectories(own);
      Files.createDirectories(Path.of(path));
      command.addAll(List.of(own.toString(), path));
    }
    Files.createDirectories(dir);
    Process holder = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("holder.log").toFile()))
        .start();
    String line = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8)).readLine();
    if (!"ready".equals(line)) {
      holder.destroyForcibly();
      throw new IllegalStateException(
          "the mount namespace holder for " + netns + " failed; see " + dir.resolve("holder.log"));
    }
    return new NodeNamespaces(netns, holder);
  }

  public String netns() {
    return netns;
  }

  /** Whether the node has a private mount namespace. */
  public boolean isolated() {
    return holder != null;
  }

  /** The command prefix that runs a program inside the node. */
  public List<String> enter() {
    List<String> prefix = new ArrayList<>(List.of("nsenter"));
    if (holder != null) {
      prefix.add("--mount=/proc/" + holder.pid() + "/ns/mnt");
    }
    prefix.addAll(List.of("--net=/var/run/netns/" + netns, "--"));
    return prefix;
  }

  /** A process builder for {@code command} inside the node. */
  public ProcessBuilder command(List<String> command) {
    List<String> full = new ArrayList<>(enter());
    full.addAll(command);
    return new ProcessBuilder(full);
  }

  /**
   * Runs {@code command} inside the node and returns its standard output; throws, with the error
   * output, on a non-zero exit. (ctr warns on stderr about cgroup v1 at every call.)
   */
  public String exec(String... command) throws IOException, InterruptedException {
    Path errors = Files.createTempFile("node-exec-", ".err");
    try {
      Process p = command(List.of(command)).redirectError(errors.toFile()).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish in " + netns);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed in " + netns + ": " + out
            + Files.readString(errors));
      }
      return out;
    } finally {
      Files.deleteIfExists(errors);
    }
  }

  /** The mount points at or below {@code dir} that the node's processes see, deepest first. */
  public List<Path> mountsUnder(Path dir) throws IOException {
    Path mountinfo = Path.of("/proc", holder == null ? "self" : Long.toString(holder.pid()), "mountinfo");
    return Files.readAllLines(mountinfo).stream()
        .map(line -> Path.of(unescape(line.split(" ")[4])))
        .filter(mountPoint -> mountPoint.startsWith(dir))
        .distinct()
        .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
        .toList();
  }

  /** Unmounts everything at or below {@code dir} in the node's mount namespace, deepest first. */
  public void unmountUnder(Path dir) throws IOException, InterruptedException {
    for (int round = 0; round < 10; round++) {
      List<Path> mounts = mountsUnder(dir);
      if (mounts.isEmpty()) {
        return;
      }
      for (Path mountPoint : mounts) {
        // A mount point can be stacked (several mounts on one path): each round takes one off.
        command(List.of("umount", mountPoint.toString())).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(1, TimeUnit.MINUTES);
      }
    }
    List<Path> left = mountsUnder(dir);
    if (!left.isEmpty()) {
      throw new IllegalStateException("still mounted in " + netns + ": " + left);
    }
  }

  /** The processes (other than the holder) in the node's private mount namespace; none without one. */
  public List<ProcessHandle> processes() {
    if (holder == null) {
      return List.of();
    }
    return ProcessHandle.allProcesses()
        .filter(p -> p.pid() != holder.pid() && mountNamespace.equals(namespaceOrEmpty(p.pid(), "mnt")))
        .toList();
  }

  /**
   * Kills each process and, first, everything it started (a shim's containers would otherwise
   * outlive it), until none is left and every process killed has ended.
   */
  static void killTrees(Supplier<List<ProcessHandle>> processes, String what) {
    List<ProcessHandle> killed = new ArrayList<>();
    Awaitility.await(what + " killed")
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> {
          for (ProcessHandle p : processes.get()) {
            p.descendants().forEach(child -> {
              child.destroyForcibly();
              killed.add(child);
            });
            p.destroyForcibly();
            killed.add(p);
          }
          return processes.get().isEmpty() && killed.stream().noneMatch(ProcessHandle::isAlive);
        });
  }

  /**
   * Kills every process in the node's private mount namespace (and what each started), then the
   * holder: the namespace and every mount in it go with the last of them.
   */
  @Override
  public void close() {
    if (holder == null) {
      return;
    }
    killTrees(this::processes, "processes in " + netns + "'s mount namespace");
    holder.destroyForcibly();
    try {
      holder.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String namespaceOf(long pid, String kind) throws IOException {
    return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", kind)).toString();
  }

  private static String namespaceOrEmpty(long pid, String kind) {
    try {
      return namespaceOf(pid, kind);
    } catch (IOException | SecurityException e) {
      return "";  // the process ended
    }
  }

  /** Mount points in mountinfo escape space, tab, newline and backslash as octal. */
  private static String unescape(String field) {
    return OCTAL_ESCAPE.matcher(field)
        .replaceAll(m -> Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 8))));
  }
}
