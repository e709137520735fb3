package dev.portforward.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * New TCP connections per second: {@code server PORT} accepts, answers one byte and closes;
 * {@code client HOST PORT SECONDS [THREADS]} connects, reads the byte and closes, in a loop on
 * each thread, and prints the total rate. Run inside network namespaces by bench/agent/run.sh and
 * in-process by {@link RelayBench}.
 */
public final class ConnectRate {

  public static void main(String[] args) throws Exception {
    if (args[0].equals("server")) {
      serve(Integer.parseInt(args[1]));
    }
    InetSocketAddress target = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
    int threads = args.length > 4 ? Integer.parseInt(args[4]) : 1;
    Result result = rate(target, Long.parseLong(args[3]), threads);
    System.out.printf("%.0f%n", result.perSecond());
  }

  /** Connections per second that got their byte, and how many got none within a second. */
  public record Result(double perSecond, long failed) {}

  /** Accepts on all addresses at {@code port}, forever, answering each connection with one byte. */
  public static void serve(int port) throws IOException {
    try (ServerSocket server = new ServerSocket()) {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(port), 4096);
      while (true) {
        try (Socket s = server.accept()) {
          s.getOutputStream().write('x');
        } catch (SocketException abortedBeforeAccept) {
          // A client that gave up while queued is reset by the proxy: not a reason to stop serving.
        }
      }
    }
  }

  /** Summed over {@code threads} clients. */
  public static Result rate(InetSocketAddress target, long seconds, int threads) throws Exception {
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<long[]>> counts = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        counts.add(pool.submit(() -> connectUntil(target, end)));
      }
      long count = 0;
      long failed = 0;
      for (Future<long[]> c : counts) {
        count += c.get()[0];
        failed += c.get()[1];
      }
      return new Result(count / ((System.nanoTime() - start) / 1e9), failed);
    } finally {
      pool.shutdown();
    }
  }

  /** [connections that got their byte, connections that did not]. */
  private static long[] connectUntil(InetSocketAddress target, long end) throws IOException {
    long count = 0;
    long failed = 0;
    while (System.nanoTime() < end) {
      try (Socket s = new Socket()) {
        // Reset instead of FIN: no TIME_WAIT on the client, which would run out of ports.
        s.setSoLinger(true, 0);
        // A lost byte must not stall the run: it is counted instead.
        s.setSoTimeout(1000);
        s.connect(target, 1000);
        InputStream in = s.getInputStream();
        if (in.read() == 'x') {
          count++;
        } else {
          failed++;
        }
      } catch (SocketTimeoutException e) {
        failed++;
      }
    }
    return new long[] {count, failed};
  }

  private ConnectRate() {}
}
