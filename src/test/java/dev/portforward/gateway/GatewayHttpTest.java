package dev.portforward.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A gateway's HTTP answers on loopback: whole, too long, and one whose body never ends. */
class GatewayHttpTest {

  /** Far beyond the request timeouts below: reached only when a read hangs. */
  private static final Duration HANG = Duration.ofSeconds(60);

  private final HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
  private final CountDownLatch released = new CountDownLatch(1);
  private HttpServer server;

  @BeforeEach
  void startServer() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/whole", exchange -> {
      byte[] body = "<answer/>".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.createContext("/endless", exchange -> {
      exchange.sendResponseHeaders(200, 0); // chunked: no length, the body ends when the server says so
      OutputStream out = exchange.getResponseBody();
      out.write("<answ".getBytes(StandardCharsets.UTF_8));
      out.flush();
      try {
        released.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      exchange.close();
    });
    server.createContext("/long", exchange -> {
      exchange.sendResponseHeaders(200, 0);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(new byte[100_000]);
      }
    });
    server.createContext("/missing", exchange -> {
      exchange.sendResponseHeaders(404, -1);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void stopServer() {
    released.countDown();
    server.stop(0);
  }

  @Test
  void aWholeAnswerIsReturned() throws Exception {
    assertThat(new String(GatewayHttp.fetch(http, get("/whole"), "the test answer", 1024), StandardCharsets.UTF_8))
        .isEqualTo("<answer/>");
  }

  @Test
  void aBodyThatNeverEndsIsCutOffAfterTheRequestsTimeout() {
    assertTimeoutPreemptively(HANG, () -> assertThatThrownBy(() ->
        GatewayHttp.fetch(http, get("/endless"), "the test answer", 1024))
        .isInstanceOf(GatewayException.class)
        .hasMessage("the test answer timed out: the body of the answer did not arrive within 500 ms"));
  }

  @Test
  void aLongBodyIsReadOnlyUpToTheLimit() throws Exception {
    assertThat(GatewayHttp.fetch(http, get("/long"), "the test answer", 1024)).hasSize(1024);
  }

  @Test
  void anotherStatusThan200Or500IsNoAnswer() {
    assertThatThrownBy(() -> GatewayHttp.fetch(http, get("/missing"), "the test answer", 1024))
        .isInstanceOf(GatewayException.class)
        .hasMessage("the test answer failed with HTTP status 404");
  }

  private HttpRequest get(String path) {
    return HttpRequest.newBuilder(URI.create("http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":"
        + server.getAddress().getPort() + path)).timeout(Duration.ofMillis(500)).GET().build();
  }
}
