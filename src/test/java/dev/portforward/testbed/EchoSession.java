package dev.portforward.testbed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A long-lived TCP connection from a namespace, from a given source address, to an echo server
 * (socat ... EXEC:cat) behind it: it tells whether a line sent now still comes back.
 */
public final class EchoSession {

  /** How long an echo may take; past it, the connection counts as no longer carrying traffic. */
  private static final long ECHO_SECONDS = 2;

  private final Process socat;
  private final Writer toServer;
  private final BlockingQueue<String> fromServer = new LinkedBlockingQueue<>();

  private EchoSession(Process socat) {
    this.socat = socat;
    toServer = socat.outputWriter();
    BufferedReader lines = socat.inputReader();
    Thread reader = new Thread(() -> {
      try {
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          fromServer.add(line);
        }
      } catch (IOException closed) {
        // The connection or the process is gone: no more lines.
      }
    });
    reader.setDaemon(true);
    reader.start();
  }

  /** Connects from {@code source} in namespace {@code ns} to {@code host:port} (retrying while it is not up yet). */
  public static EchoSession open(NetNs net, String ns, String source, String host, int port) throws IOException {
    return new EchoSession(net.spawn(ns, "socat", "-",
        "TCP:" + host + ":" + port + ",bind=" + source + ",retry=20,interval=0.2"));
  }

  /**
   * Runs {@code command}, a socat (or the like) joining its standard input and output to a TCP
   * connection to an echo server, for example from a client namespace of a {@link NodeNetwork}.
   */
  public static EchoSession start(java.util.List<String> command) throws IOException {
    return new EchoSession(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start());
  }

  /** Closes the connection (the client's socat ends, and with it the TCP connection). */
  public void close() {
    socat.destroy();
  }

  /** False once the connection has ended (the client's socat exits when it closes or resets). */
  public boolean isOpen() {
    return socat.isAlive();
  }

  /** Sends a line; true when the same line comes back within a couple of seconds. */
  public boolean echoes(String line) {
    try {
      toServer.write(line + "\n");
      toServer.flush();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ECHO_SECONDS);
      // Skip late echoes of earlier lines.
      for (String got = fromServer.poll(ECHO_SECONDS, TimeUnit.SECONDS); got != null;
          got = fromServer.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
        if (got.equals(line)) {
          return true;
        }
      }
      return false;
    } catch (IOException closed) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
