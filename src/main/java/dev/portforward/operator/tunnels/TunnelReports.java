package dev.portforward.operator.tunnels;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.common.Cidr;
import dev.portforward.tunnel.TunnelServer.Report;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Reads a tunnel server's report ({@code GET /tunnel/clients} on its HTTP port) from its ready
 * pod, dialled at the pod's IP address: the tunnel pod gets no API credentials and the operator
 * no proxy rights over pods; the status stays the operator's to write. What the pod sends is
 * bounded here ({@link #MAX_BODY} bytes, a few seconds) and again by {@link TunnelStatuses}.
 */
public final class TunnelReports {

  /** A report of 100 clients is some 30 KiB; anything far larger is not a tunnel server's. */
  static final int MAX_BODY = 256 * 1024;
  static final String PATH = "/tunnel/clients";
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final ObjectMapper JSON = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT)
      .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY).build();

  /**
   * The report of the tunnel's ready pod: one carrying the tunnel's label, made by a ReplicaSet of
   * its Deployment, Ready, with an IP address (the oldest, should there be more). Empty when it
   * has no such pod; an exception says why a pod's report could not be read.
   */
  public Optional<Report> read(SshTunnel tunnel, KubernetesClient client) throws IOException, InterruptedException {
    String workload = TunnelNames.workload(tunnel);
    List<Pod> pods = client.pods().inNamespace(tunnel.getMetadata().getNamespace())
        .withLabel(TunnelNames.TUNNEL_LABEL, workload).list().getItems();
    Optional<Pod> ready = pods.stream()
        .filter(pod -> pod.getMetadata().getDeletionTimestamp() == null)
        .filter(pod -> madeByTheDeployment(pod, workload))
        .filter(TunnelReports::isReady)
        .min(Comparator.comparing((Pod pod) -> pod.getMetadata().getCreationTimestamp())
            .thenComparing(pod -> pod.getMetadata().getName()));
    if (ready.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(fetch(ready.get()));
  }

  private Report fetch(Pod pod) throws IOException, InterruptedException {
    InetAddress address;
    URI uri;
    try {
      // A literal, never a name: what is dialled is the address the kubelet reported.
      address = Cidr.parseAddress(pod.getStatus().getPodIP());
      uri = new URI("http", null, address.getHostAddress(), TunnelNames.HTTP_PORT, PATH, null, null);
    } catch (IllegalArgumentException | URISyntaxException e) {
      throw new IOException("pod " + pod.getMetadata().getName() + " has no usable IP address");
    }
    HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        throw new IOException("pod " + pod.getMetadata().getName() + " answered HTTP " + response.statusCode());
      }
      byte[] bytes = body.readNBytes(MAX_BODY + 1);
      if (bytes.length > MAX_BODY) {
        throw new IOException("pod " + pod.getMetadata().getName() + " sent a report over " + MAX_BODY + " bytes");
      }
      try {
        return JSON.readValue(bytes, Report.class);
      } catch (IOException e) {
        throw new IOException("pod " + pod.getMetadata().getName() + " sent a report that is not one");
      }
    }
  }

  /** Controlled by a ReplicaSet named after the tunnel's Deployment, as the Deployment controller names them. */
  private static boolean madeByTheDeployment(Pod pod, String workload) {
    return Optional.ofNullable(pod.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
        .filter(owner -> Boolean.TRUE.equals(owner.getController()))
        .anyMatch(owner -> "ReplicaSet".equals(owner.getKind()) && owner.getName().startsWith(workload + "-"));
  }

  private static boolean isReady(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getPodIP() != null
        && Optional.ofNullable(pod.getStatus().getConditions()).orElse(List.of()).stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }
}
