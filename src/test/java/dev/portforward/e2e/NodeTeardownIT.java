package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.DemoBackend;
import dev.portforward.testbed.NodeCluster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A real node with a running pod, torn down: no process, mount, network namespace, link or cgroup
 * of it is left, and the kernel settings kubelet changed are back to what they were.
 */
class NodeTeardownIT {

  private static final List<String> KUBELET_SYSCTLS =
      List.of("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops");

  @Test
  void aClosedClusterLeavesNothingBehind() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "skipped: real nodes need root");
    assumeTrue(Files.isExecutable(Path.of("/usr/lib/cni/bridge")) && Files.isExecutable(Path.of("/usr/sbin/runc")),
        "skipped: real nodes need runc and the CNI plugins (Debian packages runc, containernetworking-plugins)");
    List<String> sysctlsBefore = read(KUBELET_SYSCTLS);
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    Path dir = Files.createTempDirectory(target, "teardown-");
    String prefix;
    try (NodeCluster cluster = NodeCluster.start(dir, 1, List.of())) {
      prefix = cluster.network().prefix();
      String backend = DemoBackend.manifest("default", cluster.runtime().testapp().name(), 1);
      cluster.client().load(new ByteArrayInputStream(backend.getBytes(StandardCharsets.UTF_8))).serverSideApply();
      DemoBackend.awaitReady(cluster.client(), "default", 1);
      assertThat(processesMentioning(dir.toString())).as("the cluster's processes, while up").isNotEmpty();
      assertThat(cgroups(prefix)).as("the node's cgroups, while up").isNotEmpty();
    }
    assertThat(read(KUBELET_SYSCTLS)).as("kernel settings after teardown").isEqualTo(sysctlsBefore);
    assertThat(processesMentioning(dir.toString())).as("processes left").isEmpty();
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).as("mounts left").doesNotContain(prefix);
    assertThat(list(Path.of("/run/netns"))).as("network namespaces left").noneMatch(n -> n.startsWith(prefix));
    String bridge = "pfb" + prefix.substring("pfn".length());
    assertThat(list(Path.of("/sys/class/net"))).as("links left")
        .noneMatch(n -> n.startsWith(prefix) || n.startsWith(bridge));
    assertThat(cgroups(prefix)).as("cgroups left").isEmpty();
  }

  private static List<String> read(List<String> sysctls) throws IOException {
    List<String> values = new ArrayList<>();
    for (String sysctl : sysctls) {
      values.add(Files.readString(Path.of("/proc/sys", sysctl)).strip());
    }
    return values;
  }

  /**
   * Processes whose command line holds {@code text}, the cluster's directory: control plane,
   * kubelet, containerd, shims, and the mount namespace holders (their bind mounts' sources).
   */
  private static List<String> processesMentioning(String text) {
    return ProcessHandle.allProcesses()
        .map(p -> commandLine(p.pid()))
        .filter(c -> c.contains(text))
        .toList();
  }

  /** As /proc has it (argv[0] as the process set it, which ProcessHandle.Info replaces with the executable). */
  private static String commandLine(long pid) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
    } catch (IOException | java.io.UncheckedIOException e) {
      return "";
    }
  }

  private static List<String> cgroups(String prefix) throws IOException {
    List<String> found = new ArrayList<>();
    for (String hierarchy : list(Path.of("/sys/fs/cgroup"))) {
      list(Path.of("/sys/fs/cgroup", hierarchy)).stream().filter(n -> n.startsWith(prefix))
          .forEach(n -> found.add(hierarchy + "/" + n));
    }
    return found;
  }

  private static List<String> list(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).toList();
    }
  }
}
