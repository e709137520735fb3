package dev.portforward.faults;

import dev.portforward.testbed.RoleProcess;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Restarts a role process whenever it has exited, as the kubelet restarts the container of a
 * Deployment's pod (restartPolicy Always): an operator that lost its Lease exits on purpose,
 * and in a cluster comes straight back as a candidate.
 */
final class RestartOnExit implements AutoCloseable {

  private final ScheduledExecutorService kubelet = Executors.newSingleThreadScheduledExecutor(task -> {
    Thread thread = new Thread(task, "restart-on-exit");
    thread.setDaemon(true);
    return thread;
  });
  private final AtomicInteger restarts = new AtomicInteger();

  RestartOnExit(RoleProcess process) {
    kubelet.scheduleWithFixedDelay(() -> {
      if (!process.isAlive()) {
        restarts.incrementAndGet();
        try {
          process.start();
        } catch (IOException | RuntimeException e) {
          // Started again on the next round, as a crash-looping container is.
        }
      }
    }, 0, 500, TimeUnit.MILLISECONDS);
  }

  int restarts() {
    return restarts.get();
  }

  @Override
  public void close() throws InterruptedException {
    kubelet.shutdown();
    kubelet.awaitTermination(3, TimeUnit.MINUTES);
  }
}
