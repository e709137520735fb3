package dev.portforward.operator.sidecar;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.operator.OperatorConfig;
import dev.portforward.operator.relays.RelayResources;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import org.jboss.logging.Logger;

/**
 * The mutating admission webhook that injects the relay sidecar into pods at creation. Served by
 * every operator replica (no leader needed: it only reads), over HTTPS with the certificate
 * {@link WebhookTls} keeps. It never refuses a pod: when in doubt it admits it unchanged, and the
 * PortForward's status lists pods without the sidecar.
 */
public final class SidecarWebhook implements AutoCloseable {

  public static final String PATH = "/mutate-pods";
  private static final Logger LOG = Logger.getLogger(SidecarWebhook.class);
  private static final Duration MAX_REFRESH = Duration.ofMinutes(10);
  private static final int MAX_BODY = 4 * 1024 * 1024;

  private final SidecarAdmission.Cluster cluster;
  private final SidecarInjection.Settings settings;
  private final WebhookTls tls;
  private final HttpsServer server;
  private final ExecutorService workers = Executors.newFixedThreadPool(4, daemon("webhook"));
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemon("webhook-tls"));

  private SidecarWebhook(KubernetesClient client, SidecarInjection.Settings settings, WebhookTls tls,
      HttpsServer server) {
    // Read from the API on each request: a few GETs per pod creation in opted-in namespaces only,
    // and never a stale view of a PortForward accepted a moment ago.
    this.cluster = new SidecarAdmission.Cluster() {
      @Override public List<PortForward> portForwards(String namespace) {
        return client.resources(PortForward.class).inNamespace(namespace).list().getItems();
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return Optional.ofNullable(client.services().inNamespace(namespace).withName(name).get());
      }
    };
    this.settings = settings;
    this.tls = tls;
    this.server = server;
  }

  /** Issues or loads the certificate, then serves; fails when either is impossible. */
  public static SidecarWebhook start(KubernetesClient client, OperatorConfig config, MeterRegistry metrics)
      throws IOException {
    OperatorConfig.Webhook webhook = config.webhook();
    String namespace = webhook.namespace().orElseGet(client::getNamespace);
    if (namespace == null) {
      throw new IllegalArgumentException("portforward.webhook.namespace is required outside a cluster");
    }
    WebhookTls tls = new WebhookTls(client, namespace, webhook.secretName(), webhook.configurationName(),
        WebhookCertificates.serviceNames(webhook.serviceName(), namespace), webhook.certificateValidity(),
        Clock.systemUTC());
    tls.refresh();
    // Renewed when a third of its lifetime is left: nearing expiry means renewals keep failing.
    metrics.gauge("portforward.operator.webhook.certificate.expiry.timestamp.seconds", tls, WebhookTls::expiry);
    HttpsServer server = HttpsServer.create(new InetSocketAddress(webhook.host(), webhook.port()), 64);
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {tls}, null, null);
      server.setHttpsConfigurator(new HttpsConfigurator(context));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("webhook: no TLS: " + e.getMessage(), e);
    }
    SidecarWebhook hook = new SidecarWebhook(client,
        new SidecarInjection.Settings(config.relay().image(), config.relay().imagePullPolicy(),
            config.sidecar().managementPort(), config.sidecar().eventLoopThreads(),
            RelayResources.of(config.relay().resources()),
            config.relay().jvmOptions(), config.relay().imagePullSecrets().orElse(List.of())), tls, server);
    server.createContext(PATH, hook::serve);
    server.setExecutor(hook.workers);
    server.start();
    // Checked often enough to renew in time even with a short validity.
    long refresh = Math.min(MAX_REFRESH.toMillis(), webhook.certificateValidity().toMillis() / 10);
    hook.timer.scheduleWithFixedDelay(hook::refresh, refresh, refresh, TimeUnit.MILLISECONDS);
    LOG.infof("webhook: serving %s on %s:%d", PATH, webhook.host(), server.getAddress().getPort());
    return hook;
  }

  private void refresh() {
    try {
      tls.refresh();
    } catch (RuntimeException e) {
      LOG.errorf("webhook: certificate check failed, will retry: %s", e.toString());
    }
  }

  private void serve(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      AdmissionReview review;
      try (InputStream in = exchange.getRequestBody()) {
        review = Serialization.unmarshal(new String(in.readNBytes(MAX_BODY), StandardCharsets.UTF_8),
            AdmissionReview.class);
      } catch (RuntimeException bad) {
        exchange.sendResponseHeaders(400, -1);
        return;
      }
      byte[] body = Serialization.asJson(SidecarAdmission.respond(review, cluster, settings))
          .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** The port it serves on (the setting, or the one the system chose for port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    server.stop(0);
    workers.shutdownNow();
  }

  private static ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
