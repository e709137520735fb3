package dev.portforward.bench;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * What a phase cost the API server: its count of write requests by verb and resource (all
 * clients), and the CPU time of the operator under test, the API server and etcd.
 */
record ApiCost(Map<String, Long> writes, List<Duration> cpu) {

  private static final Pattern WRITE = Pattern.compile(
      "^apiserver_request_total\\{.*,resource=\"([^\"]*)\".*,subresource=\"([^\"]*)\""
          + ".*,verb=\"(POST|PUT|PATCH|APPLY|DELETE)\".*\\} (\\S+)$");

  static ApiCost now(KubernetesClient client, Supplier<Duration> operatorCpu) {
    Map<String, Long> writes = new TreeMap<>();
    client.raw("/metrics").lines().map(WRITE::matcher).filter(Matcher::matches).forEach(m -> writes.merge(
        m.group(3) + " " + m.group(1) + (m.group(2).isEmpty() ? "" : "/" + m.group(2)),
        (long) Double.parseDouble(m.group(4)), Long::sum));
    return new ApiCost(writes, List.of(operatorCpu.get(), cpuOf("kube-apiserver"), cpuOf("etcd")));
  }

  ApiCost minus(ApiCost before) {
    Map<String, Long> writes = new TreeMap<>();
    this.writes.forEach((kind, n) -> writes.put(kind, n - before.writes.getOrDefault(kind, 0L)));
    writes.values().removeIf(n -> n == 0);
    return new ApiCost(writes,
        IntStream.range(0, cpu.size()).mapToObj(i -> cpu.get(i).minus(before.cpu.get(i))).toList());
  }

  String writesPer(int count) {
    long total = writes.values().stream().mapToLong(Long::longValue).sum();
    return String.format("%.2f (%s)", (double) total / count, writes.entrySet().stream()
        .map(e -> String.format("%s %.2f", e.getKey(), (double) e.getValue() / count))
        .collect(Collectors.joining(", ")));
  }

  /** "12.3 / 4.5 / 0.6": the CPU seconds of the process under test, the API server and etcd. */
  String cpuSecondsInLine() {
    return cpu.stream().map(d -> String.format("%.1f", d.toMillis() / 1000.0)).collect(Collectors.joining(" / "));
  }

  String cpuSeconds() {
    return cpu.stream().map(d -> String.format("%14.1f", d.toMillis() / 1000.0)).collect(Collectors.joining(" "));
  }

  private static Duration cpuOf(String command) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().filter(c -> c.endsWith("/" + command)).isPresent())
        .map(p -> p.info().totalCpuDuration().orElse(Duration.ZERO))
        .reduce(Duration.ZERO, Duration::plus);
  }
}
