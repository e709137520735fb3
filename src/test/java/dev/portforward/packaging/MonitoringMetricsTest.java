package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every metric the chart's alerts and Grafana dashboard query is one the roles export. The meters
 * are read from the code (each registration of a portforward.* counter, timer or gauge),
 * registered in a Prometheus registry as the roles do, and scraped, so the exported names follow
 * Micrometer's own Prometheus naming (_total, _seconds_count, _max).
 */
class MonitoringMetricsTest {

  private static final Path MONITORING = Path.of("helm/portforward-operator/files/monitoring");
  private static final Pattern METER = Pattern.compile(
      "\\b(counter|Counter\\.builder|FunctionCounter\\.builder|timer|Timer\\.builder|gauge|Gauge\\.builder)"
          + "\\(\\s*\"(portforward\\.[a-z.]+)\"");
  /** common/ConfigWatcher counts reloads as portforward.<role>.config.reloads for the role that runs it. */
  private static final Pattern CONFIG_WATCHER = Pattern.compile("new ConfigWatcher<>\\(\\s*\"([a-z]+)\"");
  private static final Pattern USED = Pattern.compile("\\bportforward_[a-z_]+");

  @Test
  void everyMetricTheAlertsAndTheDashboardUseIsExported() throws Exception {
    Set<String> exported = exportedNames();
    assertThat(exported).as("meters found in the code").contains("portforward_agent_apply_failures_total",
        "portforward_relay_refused_total", "portforward_agent_sync_seconds_count");
    // The series behind the issue's alerts: a node's failing transaction, forwards not programmed
    // for 5 minutes, gateway mappings refused, a relay at its connection limit, the webhook's
    // certificate near expiry.
    String alerts = Files.readString(MONITORING.resolve("alerts.yaml"));
    for (String series : List.of("portforward_agent_apply_failures_total", "portforward_agent_forwards_unprogrammed",
        "portforward_agent_gateway_mappings_refused", "portforward_relay_refused_total",
        "portforward_operator_webhook_certificate_expiry_timestamp_seconds")) {
      assertThat(exported).as("exported").contains(series);
      assertThat(alerts).as("alerted on").contains(series);
    }

    Set<String> used = new TreeSet<>();
    used.addAll(used(Files.readString(MONITORING.resolve("alerts.yaml"))));
    JsonNode dashboard = new ObjectMapper().readTree(MONITORING.resolve("dashboard.json").toFile());
    assertThat(dashboard.get("panels")).isNotEmpty();
    for (JsonNode panel : dashboard.get("panels")) {
      assertThat(panel.get("targets")).as(panel.get("title").asText()).isNotEmpty();
      panel.get("targets").forEach(target -> used.addAll(used(target.get("expr").asText())));
    }

    assertThat(used).as("metrics the alerts and the dashboard query").hasSizeGreaterThan(8);
    assertThat(exported).as("exported by a role").containsAll(used);
  }

  /** Every portforward_* series the roles' meters export. */
  private static Set<String> exportedNames() throws IOException {
    Map<String, Meter.Type> meters = new TreeMap<>();
    try (Stream<Path> sources = Files.walk(Path.of("src/main/java"))) {
      for (Path source : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
        String code = Files.readString(source);
        Matcher watcher = CONFIG_WATCHER.matcher(code);
        while (watcher.find()) {
          meters.put("portforward." + watcher.group(1) + ".config.reloads", Meter.Type.COUNTER);
        }
        Matcher m = METER.matcher(code);
        while (m.find()) {
          String kind = m.group(1).toLowerCase();
          meters.put(m.group(2), kind.contains("counter") ? Meter.Type.COUNTER
              : kind.contains("timer") ? Meter.Type.TIMER : Meter.Type.GAUGE);
        }
      }
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    meters.forEach((name, type) -> {
      switch (type) {
        case COUNTER -> registry.counter(name);
        case TIMER -> registry.timer(name);
        default -> registry.gauge(name, 0);
      }
    });
    Set<String> names = new TreeSet<>();
    registry.scrape().lines().filter(line -> !line.startsWith("#"))
        .forEach(line -> names.add(line.split("[{ ]", 2)[0]));
    registry.close();
    return names;
  }

  private static Set<String> used(String text) {
    Set<String> names = new TreeSet<>();
    Matcher m = USED.matcher(text);
    while (m.find()) {
      names.add(m.group());
    }
    return names;
  }
}
