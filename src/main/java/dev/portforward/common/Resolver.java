package dev.portforward.common;

import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;

/**
 * Name resolution that never blocks an event loop: address literals are answered at once, names
 * by the system resolver (honouring /etc/hosts and search domains, as a pod's processes expect)
 * on a few threads of their own. The promise completes on the caller's event loop. Shared by the
 * relay's SOCKS5 CONNECT and the tunnel's direct-tcpip channels: both resolve a name once and
 * dial the address they checked.
 */
public final class Resolver implements AutoCloseable {

  private static final int THREADS = 4;

  private final ExecutorService lookups;

  public Resolver() {
    ThreadFactory daemon = runnable -> {
      Thread thread = new Thread(runnable, "dns");
      thread.setDaemon(true);
      return thread;
    };
    lookups = Executors.newFixedThreadPool(THREADS, daemon);
  }

  public Future<InetAddress> resolve(String host, EventExecutor loop) {
    Promise<InetAddress> promise = loop.newPromise();
    byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
    if (literal != null) {
      try {
        return promise.setSuccess(InetAddress.getByAddress(literal));
      } catch (UnknownHostException impossible) {
        return promise.setFailure(impossible);
      }
    }
    try {
      lookups.execute(() -> {
        try {
          promise.trySuccess(InetAddress.getByName(host));
        } catch (UnknownHostException e) {
          promise.tryFailure(e);
        }
      });
    } catch (RejectedExecutionException stopping) {
      promise.tryFailure(stopping);
    }
    return promise;
  }

  @Override
  public void close() {
    lookups.shutdownNow();
  }
}
