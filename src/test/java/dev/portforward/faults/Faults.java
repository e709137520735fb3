package dev.portforward.faults;

import java.time.Duration;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/** Waits and clocks the fault cases share. */
final class Faults {

  /** How long statuses may take to be right again after a fault: generous, since it is printed, not asserted. */
  static final Duration CONVERGENCE = Duration.ofMinutes(3);

  private Faults() {}

  /** A stopwatch started at a fault. */
  record Clock(long startNanos) {
    static Clock start() {
      return new Clock(System.nanoTime());
    }

    double seconds() {
      return at(System.nanoTime());
    }

    /** Seconds from the start to {@code nanos} (a {@link System#nanoTime} reading). */
    double at(long nanos) {
      return (nanos - startNanos) / 1e9;
    }
  }

  /** Waits until the churn has run for {@code seconds} in all. */
  static void awaitChurning(Churn churn, double seconds) {
    Awaitility.await("churning for " + seconds + " s")
        .atMost(Duration.ofSeconds((long) seconds + 60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> churn.held().seconds() >= seconds);
  }

  /**
   * Waits until every churned forward's status is right for its last change, and returns when
   * that was ({@link System#nanoTime}), or -1 when it was not within {@link #CONVERGENCE}: the
   * caller still adds its row, and then fails on what stayed wrong.
   */
  static long awaitAllRight(Churn churn) {
    try {
      Awaitility.await("every status right for its last change")
          .atMost(CONVERGENCE)
          .pollInterval(Duration.ofMillis(200))
          .ignoreExceptions()
          .until(() -> churn.wrong().isEmpty());
      return System.nanoTime();
    } catch (ConditionTimeoutException e) {
      return -1;
    }
  }

  /** "12.3 s" from the clock's start to {@code nanos}, or what -1 from {@link #awaitAllRight} means. */
  static String after(Clock clock, long nanos) {
    return nanos < 0 ? "never (" + CONVERGENCE.toMinutes() + " min)" : "%.1f s".formatted(clock.at(nanos));
  }
}
