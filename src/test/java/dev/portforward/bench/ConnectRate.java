package dev.portforward.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
    System.out.printf("%.0f%n", rate(target, Long.parseLong(args[3]), threads));
  }

  /** Accepts on all addresses at {@code port}, forever, answering each connection with one byte. */
  public static void serve(int port) throws IOException {
    try (ServerSocket server = new ServerSocket()) {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(port), 4096);
      while (true) {
        try (Socket s = server.accept()) {
          s.getOutputStream().write('x');
        }
      }
    }
  }

  /** Connections per second that got their byte, summed over {@code threads} clients. */
  public static double rate(InetSocketAddress target, long seconds, int threads) throws Exception {
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Long>> counts = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        counts.add(pool.submit(() -> connectUntil(target, end)));
      }
      long count = 0;
      for (Future<Long> c : counts) {
        count += c.get();
      }
      return count / ((System.nanoTime() - start) / 1e9);
    } finally {
      pool.shutdown();
    }
  }

  private static long connectUntil(InetSocketAddress target, long end) throws IOException {
    long count = 0;
    while (System.nanoTime() < end) {
      try (Socket s = new Socket()) {
        // Reset instead of FIN: no TIME_WAIT on the client, which would run out of ports.
        s.setSoLinger(true, 0);
        s.connect(target, 1000);
        InputStream in = s.getInputStream();
        if (in.read() == 'x') {
          count++;
        }
      }
    }
    return count;
  }

  private ConnectRate() {}
}
