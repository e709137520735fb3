package dev.portforward.relay;

import dev.portforward.relay.config.Forward;
import java.util.List;
import java.util.Optional;

/**
 * Whether the process may open as many file descriptors as its forwards' limits allow. Each
 * relayed TCP or SOCKS5 connection holds two (client and backend), each UDP session one; past the
 * process's limit, accept fails for every forward at once (Netty pauses accepting and tries again),
 * so one forward's flood would reach the others. maxConnections is what keeps a flood inside its
 * forward, and it can only do so within the limit.
 */
final class DescriptorBudget {

  /** What the process holds besides connections: listeners, the JVM's jars, epoll and timer descriptors. */
  static final long RESERVE = 512;

  private DescriptorBudget() {}

  /** Descriptors the forwards may hold at their limits, with {@link #RESERVE}. */
  static long needed(List<Forward> forwards) {
    return RESERVE + forwards.stream()
        .mapToLong(f -> f.protocol() == Forward.Protocol.UDP ? f.maxConnections() + 1L : 2L * f.maxConnections() + 1)
        .sum();
  }

  /** A warning naming both figures when the forwards may need more than {@code limit} descriptors. */
  static Optional<String> shortfall(List<Forward> forwards, long limit) {
    long needed = needed(forwards);
    if (needed <= limit) {
      return Optional.empty();
    }
    return Optional.of(("the forwards' maxConnections allow connections needing about %d file descriptors, but this"
        + " process may open %d: past it, every forward stops accepting until connections close; raise the open-file"
        + " limit of the relay's container or lower maxConnections").formatted(needed, limit));
  }
}
