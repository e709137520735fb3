package dev.portforward.operator;

import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Reconciler metrics per controller, and per PortForward only when asked for. */
@Singleton
final class MetricsProducer {

  @Produces
  @Singleton
  Metrics metrics(MeterRegistry registry, OperatorConfig config) {
    return config.metrics().perResource()
        ? MicrometerMetrics.newPerResourceCollectingMicrometerMetricsBuilder(registry).build()
        : MicrometerMetrics.withoutPerResourceMetrics(registry);
  }
}
