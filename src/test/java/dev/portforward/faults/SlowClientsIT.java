package dev.portforward.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.bench.CountingEchoServer;
import dev.portforward.testbed.RoleProcess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 10,000 slow clients (slowloris) at a relay forward with the limits a cluster admin sets for an
 * exposed service (maxConnections, idleTimeout): half of them dribble a byte every couple of
 * seconds, half send nothing. The relay, a process of the packaged jar started with a config file
 * as {@code RelayProcessIT} runs it, admits maxConnections of them and refuses the rest at once;
 * while they hold every slot a new client is refused too (docs/relay.md: "the excess is refused"),
 * and another forward of the same relay serves; idleTimeout cuts the silent ones and never the
 * dribbling ones, and a new client is served again. Its open connections, open files and resident
 * memory stay bounded by maxConnections throughout.
 *
 * <p>The clients are non-blocking sockets of this JVM (no thread each), from four loopback source
 * addresses so that neither side runs short of ephemeral ports; the backend is an echo server in
 * this JVM. The relay limits per forward, not per source, so no client namespace is needed here
 * (per-source limits are the node's kernel's: {@code UdpFloodIT}, {@code ConnectionLimitIT}).
 */
class SlowClientsIT {

  private static final int CLIENTS = 10_000;
  /** Clients opened at once: well under the relay's listen backlog (4,096 per socket). */
  private static final int BATCH = 1_000;
  private static final int MAX_CONNECTIONS = 4_000;
  private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration DRIBBLE_EVERY = Duration.ofSeconds(2);
  private static final List<String> SOURCES = List.of("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5");
  /**
   * Open files the relay may hold beyond what it held idle and two per connection: a refused
   * client's socket between accept and reset, the metrics scrapes.
   */
  private static final int SLACK_FILES = 128;
  /**
   * Resident memory a relayed idle connection may add: 4x the most bench/README.md measured
   * (12.5 KiB), generous since the JVM's heap also grows with the refused connections' garbage.
   */
  private static final long KIB_PER_CONNECTION = 50;
  /** Open files this JVM needs: every client, the backend's side of every admitted one, and its own. */
  private static final long FILES_NEEDED = CLIENTS + MAX_CONNECTIONS + 2_000L;

  @TempDir Path directory;

  @Test
  void tenThousandSlowClientsAreHeldAtMaxConnectionsAndTheSilentOnesAreCut() throws Exception {
    long limit = hardOpenFileLimit();
    // The JVM raises its own soft limit to the hard one (MaxFDLimit), and so does the relay's; a
    // hard limit cannot be raised without CAP_SYS_RESOURCE.
    assumeTrue(limit >= FILES_NEEDED, "skipped: " + FILES_NEEDED + " open files needed, the hard limit is " + limit);
    try (CountingEchoServer echo = CountingEchoServer.start("127.0.0.1")) {
      int exposed = freePort();
      int other = freePort();
      Path config = Files.writeString(directory.resolve("relay.yaml"), """
          forwards:
            - name: exposed
              listen: {address: 127.0.0.1, port: %d}
              target: {host: 127.0.0.1, port: %d}
              maxConnections: %d
              idleTimeout: %ds
            - name: other
              listen: {address: 127.0.0.1, port: %d}
              target: {host: 127.0.0.1, port: %d}
              maxConnections: 100
          """.formatted(exposed, echo.port(), MAX_CONNECTIONS, IDLE_TIMEOUT.toSeconds(), other, echo.port()));
      RoleProcess relay = RoleProcess.relay(directory, Map.of("portforward.relay.config-file", config.toString()));
      List<SocketChannel> clients = new ArrayList<>();
      ScheduledExecutorService background = Executors.newScheduledThreadPool(2);
      try {
        relay.start();
        long idleKiB = relay.rssKiB();
        long idleFiles = relay.openFiles();
        Peaks peaks = new Peaks();
        background.scheduleWithFixedDelay(() -> peaks.sample(relay, echo), 0, 250, TimeUnit.MILLISECONDS);

        Faults.Clock opening = Faults.Clock.start();
        // In batches the relay takes in before the next: a burst larger than the listen backlog would
        // lose connections the clients believe open (a full accept queue drops the handshake's last ACK).
        for (int i = 0; i < CLIENTS; i++) {
          clients.add(connect(SOURCES.get(i % SOURCES.size()), exposed));
          int opened = clients.size();
          if (opened % BATCH == 0) {
            await("the relay took in " + opened + " clients").atMost(Duration.ofMinutes(1)).ignoreExceptions()
                .until(() -> admitted(relay) + refused(relay) >= opened);
          }
        }
        double openedIn = opening.seconds();
        // Even clients dribble a byte now and then, odd ones send nothing at all.
        background.scheduleWithFixedDelay(() -> {
          for (int i = 0; i < clients.size(); i += 2) {
            dribble(clients.get(i));
          }
        }, 0, DRIBBLE_EVERY.toMillis(), TimeUnit.MILLISECONDS);
        List<Integer> held = new ArrayList<>();
        await("the refused clients learnt it").atMost(Duration.ofMinutes(1)).until(() -> {
          held.clear();
          for (int i = 0; i < clients.size(); i++) {
            if (isOpen(clients.get(i))) {
              held.add(i);
            }
          }
          return held.size() <= MAX_CONNECTIONS;
        });
        long refusedAtOnce = refused(relay);
        boolean refusedWhileFull = isRefused(exposed);
        boolean otherServed = echoes(other);

        Faults.Clock cutting = Faults.Clock.start();
        List<Integer> silent = held.stream().filter(i -> i % 2 == 1).toList();
        List<Integer> dribbling = held.stream().filter(i -> i % 2 == 0).toList();
        await("idleTimeout cuts the silent clients").atMost(IDLE_TIMEOUT.plusMinutes(1))
            .until(() -> silent.stream().noneMatch(i -> isOpen(clients.get(i))));
        double cutAfter = cutting.seconds();
        await("a new client served again").atMost(Duration.ofMinutes(1)).until(() -> echoes(exposed));
        double servedAfter = cutting.seconds();
        int dribblersCut = (int) dribbling.stream().filter(i -> !isOpen(clients.get(i))).count();
        background.shutdownNow();
        background.awaitTermination(30, TimeUnit.SECONDS);
        boolean exhausted = Files.readString(relay.log()).contains("Too many open files");

        FaultTable.add(new FaultTable.Row("10,000 slow clients (slowloris) at a relay forward",
            ("%,d connections in %.1f s from %d addresses, half dribbling a byte every %d s, half silent, at a forward"
                + " with maxConnections %,d and idleTimeout %ds").formatted(CLIENTS, openedIn, SOURCES.size(),
                DRIBBLE_EVERY.toSeconds(), MAX_CONNECTIONS, IDLE_TIMEOUT.toSeconds()),
            ("%,d held, %,d refused at once; a new client refused while full, another forward served; %,d silent ones"
                + " cut within %.1f s, a new client served %.1f s after the hold; relay at peak: %,d connections,"
                + " %,d open files (idle %d), RSS %d MiB (idle %d MiB)").formatted(held.size(), refusedAtOnce,
                silent.size(), cutAfter, servedAfter, peaks.connections.get(), peaks.files.get(), idleFiles,
                peaks.rssKiB.get() / 1024, idleKiB / 1024),
            0, dribblersCut));
        assertThat(held).as("clients the relay holds").hasSizeLessThanOrEqualTo(MAX_CONNECTIONS);
        assertThat(peaks.connections.get()).as("the forward's open connections at peak").isLessThanOrEqualTo(
            MAX_CONNECTIONS);
        assertThat(peaks.backend.get()).as("connections at the backend at peak").isLessThanOrEqualTo(
            MAX_CONNECTIONS + 1);
        assertThat(peaks.files.get()).as("the relay's open files at peak (%d idle)", idleFiles).isLessThanOrEqualTo(
            idleFiles + 2L * MAX_CONNECTIONS + SLACK_FILES);
        assertThat(exhausted).as("the relay logged running out of file descriptors").isFalse();
        assertThat(peaks.rssKiB.get()).as("the relay's RSS at peak, KiB").isLessThanOrEqualTo(
            idleKiB + MAX_CONNECTIONS * KIB_PER_CONNECTION);
        assertThat(refusedWhileFull).as("a new client while every slot is held: refused at once").isTrue();
        assertThat(otherServed).as("another forward of the same relay while this one is full").isTrue();
        assertThat(dribblersCut).as("dribbling clients cut, which idleTimeout must not do").isZero();
      } finally {
        background.shutdownNow();
        for (SocketChannel client : clients) {
          abort(client);
        }
        relay.close();
      }
    }
  }

  /** The highest figures the relay and the backend reached, sampled. */
  private static final class Peaks {
    final AtomicLong connections = new AtomicLong();
    final AtomicLong backend = new AtomicLong();
    final AtomicLong files = new AtomicLong();
    final AtomicLong rssKiB = new AtomicLong();

    void sample(RoleProcess relay, CountingEchoServer echo) {
      try {
        backend.accumulateAndGet(echo.open.get(), Math::max);
        files.accumulateAndGet(relay.openFiles(), Math::max);
        rssKiB.accumulateAndGet(relay.rssKiB(), Math::max);
        connections.accumulateAndGet((long) exposedMetric(relay, "portforward_relay_connections_active", ""), Math::max);
      } catch (IOException | InterruptedException | RuntimeException e) {
        // The relay is busy or stopping: the next sample counts.
      }
    }
  }

  /**
   * A slow client, connected and non-blocking; closed already when the relay refused it so fast
   * that its reset came before the connect returned (the relay then counted it as refused).
   */
  private static SocketChannel connect(String source, int port) throws IOException {
    SocketChannel client = SocketChannel.open();
    client.bind(new InetSocketAddress(source, 0));
    try {
      client.socket().connect(new InetSocketAddress("127.0.0.1", port), 30_000);
      client.configureBlocking(false);
    } catch (SocketException reset) {
      client.close();
    }
    return client;
  }

  private static final ByteBuffer DROP = ByteBuffer.allocate(1024);

  /** Whether the relay has neither closed nor reset the connection (echoes of the dribble are read and dropped). */
  private static synchronized boolean isOpen(SocketChannel client) {
    if (!client.isOpen()) {
      return false;
    }
    try {
      DROP.clear();
      return client.read(DROP) >= 0;
    } catch (IOException reset) {
      return false;
    }
  }

  private static void dribble(SocketChannel client) {
    try {
      client.write(ByteBuffer.wrap(new byte[] {'.'}));
    } catch (IOException closed) {
      // Refused or cut: nothing more to dribble.
    }
  }

  /** A new client that the relay closes or resets at once, without a byte. */
  private static boolean isRefused(int port) throws IOException {
    try (SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
      client.socket().setSoTimeout(10_000);
      return client.socket().getInputStream().read() < 0;
    } catch (SocketTimeoutException admitted) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  /** Closes with a reset, so that no socket of the test lingers in TIME_WAIT. */
  private static void abort(SocketChannel client) {
    try {
      if (client.isOpen()) {
        client.setOption(StandardSocketOptions.SO_LINGER, 0);
        client.close();
      }
    } catch (IOException alreadyGone) {
      // Reset by the relay: nothing left to close.
    }
  }

  /** A new client that connects and gets its line back. */
  private static boolean echoes(int port) {
    try (SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
      client.socket().setSoTimeout(10_000);
      client.socket().getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
      return new String(client.socket().getInputStream().readNBytes(6), StandardCharsets.US_ASCII).equals("hello\n");
    } catch (IOException refused) {
      return false;
    }
  }

  private static long admitted(RoleProcess relay) throws IOException, InterruptedException {
    return (long) exposedMetric(relay, "portforward_relay_connections_total", "");
  }

  private static long refused(RoleProcess relay) throws IOException, InterruptedException {
    return (long) exposedMetric(relay, "portforward_relay_refused_total", ",reason=\"limit\"");
  }

  /** A series of the exposed forward from the relay's /q/metrics. */
  private static double exposedMetric(RoleProcess relay, String name, String moreTags)
      throws IOException, InterruptedException {
    Matcher m = Pattern.compile("(?m)^" + name + "\\{forward=\"exposed\",protocol=\"TCP\"" + Pattern.quote(moreTags)
        + "} (\\S+)$").matcher(relay.get("/q/metrics").body());
    if (!m.find()) {
      throw new IllegalStateException(name + " of forward exposed is not exported");
    }
    return Double.parseDouble(m.group(1));
  }

  /** This process's hard limit of open files (/proc/self/limits). */
  private static long hardOpenFileLimit() throws IOException {
    String line = Files.readAllLines(Path.of("/proc/self/limits")).stream()
        .filter(l -> l.startsWith("Max open files")).findFirst().orElseThrow();
    String hard = line.substring("Max open files".length()).trim().split("\\s+")[1];
    return hard.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(hard);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
