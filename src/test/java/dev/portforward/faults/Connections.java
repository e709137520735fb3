package dev.portforward.faults;

import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Long-lived connections from the client namespace through a forward of the node to an echo
 * server, kept talking while a fault strikes. A connection counts as dropped when it closed or
 * no longer echoes at all; an echo that only came late (a loaded machine) is a stall, counted
 * apart and never a failure.
 */
final class Connections implements AutoCloseable {

  /** How long a connection may stay silent before it counts as dropped. */
  private static final Duration SILENT = Duration.ofSeconds(30);

  private final NetNs net;
  private final String client;
  private final int port;
  private final List<EchoSession> sessions = new ArrayList<>();
  private final Set<Integer> dropped = new HashSet<>();
  private final AtomicInteger stalls = new AtomicInteger();
  private final AtomicInteger lines = new AtomicInteger();
  private ScheduledExecutorService watcher;

  private Connections(NetNs net, String client, int port) {
    this.net = net;
    this.client = client;
    this.port = port;
  }

  /** Opens {@code count} connections to the node's {@code port} (they retry until it forwards). */
  static Connections open(NetNs net, String client, int port, int count) throws IOException {
    Connections connections = new Connections(net, client, port);
    for (int i = 0; i < count; i++) {
      connections.sessions.add(connections.session());
    }
    return connections;
  }

  private EchoSession session() throws IOException {
    return EchoSession.open(net, client, NodeTopology.CLIENT_IP, NodeTopology.NODE_IP, port);
  }

  int count() {
    return sessions.size();
  }

  /** Waits until every connection echoes (they are established and forwarded). */
  void awaitAllEcho() {
    for (EchoSession session : sessions) {
      Awaitility.await("a connection through the forward echoes").atMost(Duration.ofSeconds(90))
          .until(() -> session.echoes("hello-" + lines.incrementAndGet()));
    }
  }

  /** Keeps every connection talking, a line a second or so each, until {@link #dropped} is asked. */
  void watch() {
    watcher = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "connection-watcher");
      thread.setDaemon(true);
      return thread;
    });
    // A steady trickle, not a flood: the connections only have to keep carrying data.
    watcher.scheduleWithFixedDelay(() -> sessions.stream()
        .filter(EchoSession::isOpen)
        .filter(session -> !session.echoes("tick-" + lines.incrementAndGet()))
        .forEach(session -> stalls.incrementAndGet()), 0, 500, TimeUnit.MILLISECONDS);
  }

  /**
   * Stops the watcher and counts the connections dropped so far: closed, or silent for
   * {@link #SILENT} while asked again and again.
   */
  int dropped() throws InterruptedException {
    stopWatching();
    for (int i = 0; i < sessions.size(); i++) {
      EchoSession session = sessions.get(i);
      if (!dropped.contains(i) && !echoesWithin(session, SILENT)) {
        dropped.add(i);
      }
    }
    return dropped.size();
  }

  int stalls() {
    return stalls.get();
  }

  /** Whether a connection opened now is forwarded and echoes. */
  boolean newOneEchoes() throws IOException {
    EchoSession fresh = session();
    try {
      return echoesWithin(fresh, Duration.ofSeconds(90));
    } finally {
      fresh.close();
    }
  }

  private boolean echoesWithin(EchoSession session, Duration limit) {
    try {
      Awaitility.await().atMost(limit)
          .until(() -> !session.isOpen() || session.echoes("check-" + lines.incrementAndGet()));
      return session.isOpen();
    } catch (ConditionTimeoutException e) {
      return false;
    }
  }

  private void stopWatching() throws InterruptedException {
    if (watcher != null) {
      watcher.shutdown();
      watcher.awaitTermination(30, TimeUnit.SECONDS);
      watcher = null;
    }
  }

  @Override
  public void close() throws InterruptedException {
    stopWatching();
    sessions.forEach(EchoSession::close);
  }
}
