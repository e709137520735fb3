package dev.portforward.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One HTTP exchange with a gateway, bounded in time and size. The request's timeout ends when the
 * headers arrive, so the body is cut off after the same time again: a gateway on the LAN is not
 * trusted, and one that never finishes its answer must not hold the node's gateway thread (every
 * mapping's renewal waits on it), nor one that answers without end its memory.
 */
final class GatewayHttp {

  private GatewayHttp() {}

  /**
   * The body of the answer to {@code request} (at most {@code maxBody} bytes) when its status is
   * 200, or 500 (SOAP faults come with 500 and a body that says which).
   *
   * @param request a request with a timeout, which also bounds the reading of the body
   */
  static byte[] fetch(HttpClient http, HttpRequest request, String what, int maxBody) throws GatewayException {
    Duration timeout = request.timeout().orElseThrow(() -> new IllegalArgumentException("a request without a timeout"));
    try {
      HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream body = response.body()) {
        AtomicBoolean cutOff = new AtomicBoolean();
        CompletableFuture<Void> deadline = CompletableFuture.runAsync(() -> {
          cutOff.set(true);
          closeQuietly(body);
        }, CompletableFuture.delayedExecutor(timeout.toMillis(), TimeUnit.MILLISECONDS));
        byte[] bytes;
        try {
          bytes = body.readNBytes(maxBody);
        } catch (IOException e) {
          if (cutOff.get()) {
            throw timedOut(what, timeout);
          }
          throw e;
        } finally {
          deadline.cancel(false);
        }
        if (cutOff.get()) {
          throw timedOut(what, timeout);
        }
        if (response.statusCode() != 200 && response.statusCode() != 500) {
          throw GatewayException.unavailable(what + " failed with HTTP status " + response.statusCode());
        }
        return bytes;
      }
    } catch (IOException e) {
      throw GatewayException.unavailable(what + " failed: " + e.getClass().getSimpleName(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw GatewayException.unavailable(what + " was interrupted", e);
    }
  }

  private static GatewayException timedOut(String what, Duration timeout) {
    return GatewayException.unavailable(what + " timed out: the body of the answer did not arrive within "
        + timeout.toMillis() + " ms");
  }

  private static void closeQuietly(InputStream body) {
    try {
      body.close();
    } catch (IOException e) {
      // Closing only wakes the reader, which then finds the cut-off flag.
    }
  }
}
