package dev.portforward.bench;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * New TCP connections per second: {@code server PORT} accepts, answers one byte and closes;
 * {@code client HOST PORT SECONDS} connects, reads the byte and closes, in a loop, and prints the
 * rate. Run inside network namespaces by bench/agent/run.sh.
 */
public final class ConnectRate {

  public static void main(String[] args) throws Exception {
    if (args[0].equals("server")) {
      try (ServerSocket server = new ServerSocket()) {
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(Integer.parseInt(args[1])), 4096);
        while (true) {
          try (Socket s = server.accept()) {
            s.getOutputStream().write('x');
          }
        }
      }
    }
    InetSocketAddress target = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
    long end = System.nanoTime() + Long.parseLong(args[3]) * 1_000_000_000L;
    long start = System.nanoTime();
    long count = 0;
    while (System.nanoTime() < end) {
      try (Socket s = new Socket()) {
        s.setSoLinger(true, 0);
        s.connect(target, 1000);
        InputStream in = s.getInputStream();
        if (in.read() == 'x') {
          count++;
        }
      }
    }
    System.out.printf("%.0f%n", count / ((System.nanoTime() - start) / 1e9));
  }

  private ConnectRate() {}
}
