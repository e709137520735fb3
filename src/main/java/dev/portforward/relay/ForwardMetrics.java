package dev.portforward.relay;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One forward's counters. The hot path only adds to {@link LongAdder}s; Micrometer reads them
 * when scraped, so counting costs no allocation per packet.
 */
final class ForwardMetrics implements AutoCloseable {

  /** Why a connection, session or datagram was turned away. */
  enum Refusal { SOURCE, LIMIT, AUTH, DESTINATION, OVERLOAD }

  /**
   * What went wrong after a connection was admitted. RESET: a side aborted the connection, as
   * clients and health checks that close with a reset do; IO: any other socket error.
   */
  enum Failure { RESOLVE, CONNECT, RESET, IO }

  final AtomicInteger active = new AtomicInteger();
  final LongAdder accepted = new LongAdder();
  final LongAdder bytesFromClients = new LongAdder();
  final LongAdder bytesToClients = new LongAdder();
  private final Map<Refusal, LongAdder> refused = new EnumMap<>(Refusal.class);
  private final Map<Failure, LongAdder> failures = new EnumMap<>(Failure.class);
  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();

  ForwardMetrics(MeterRegistry registry, String forward, String protocol) {
    this.registry = registry;
    Tags tags = Tags.of("forward", forward, "protocol", protocol);
    meters.add(Gauge.builder("portforward.relay.connections.active", active, AtomicInteger::get)
        .description("Open TCP/SOCKS5 connections or UDP sessions").tags(tags).register(registry));
    counter("portforward.relay.connections", "Connections or UDP sessions admitted", tags, accepted);
    counter("portforward.relay.bytes", "Bytes relayed", tags.and("direction", "from_client"), bytesFromClients);
    counter("portforward.relay.bytes", "Bytes relayed", tags.and("direction", "to_client"), bytesToClients);
    for (Refusal reason : Refusal.values()) {
      refused.put(reason, counter("portforward.relay.refused",
          "Connections, sessions or datagrams turned away", tags.and("reason", reason.name().toLowerCase()), new LongAdder()));
    }
    for (Failure kind : Failure.values()) {
      failures.put(kind, counter("portforward.relay.errors",
          "Admitted connections that failed", tags.and("kind", kind.name().toLowerCase()), new LongAdder()));
    }
  }

  void refused(Refusal reason) {
    refused.get(reason).increment();
  }

  void failed(Failure kind) {
    failures.get(kind).increment();
  }

  long refusedCount(Refusal reason) {
    return refused.get(reason).sum();
  }

  long failureCount(Failure kind) {
    return failures.get(kind).sum();
  }

  private LongAdder counter(String name, String description, Tags tags, LongAdder adder) {
    meters.add(FunctionCounter.builder(name, adder, LongAdder::sum).description(description).tags(tags).register(registry));
    return adder;
  }

  @Override
  public void close() {
    meters.forEach(registry::remove);
  }
}
