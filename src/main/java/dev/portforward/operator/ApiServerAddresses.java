package dev.portforward.operator;

import dev.portforward.operator.policy.ApiServer;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.netty.util.NetUtil;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.jboss.logging.Logger;

/**
 * The API server's addresses, which no forward may lead to: the address the operator itself
 * talks to, the default/kubernetes Service's cluster IPs and its endpoints; and the ports of those
 * endpoints, which no forward may listen on. Looked up once when the operator starts (never at
 * bean creation, so the other roles need no API access); an API server that is still starting
 * is asked again for up to {@link #PATIENCE} before the operator gives up and exits.
 */
@ApplicationScoped
public class ApiServerAddresses {

  private static final Logger LOG = Logger.getLogger(ApiServerAddresses.class);
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  private final KubernetesClient client;
  private volatile ApiServer found;

  ApiServerAddresses(KubernetesClient client) {
    this.client = client;
  }

  /** The addresses and ports, looked up on first use. */
  public ApiServer get() {
    ApiServer known = found;
    if (known == null) {
      known = lookUpPatiently();
      found = known;
      LOG.infof("targets may not lead to the API server at %s, and no forward may listen on its port(s) %s",
          known.addresses(), known.ports());
    }
    return known;
  }

  private ApiServer lookUpPatiently() {
    Instant giveUp = Instant.now().plus(PATIENCE);
    Duration pause = Duration.ofMillis(250);
    while (true) {
      try {
        return lookUp();
      } catch (KubernetesClientException e) {
        if (Instant.now().plus(pause).isAfter(giveUp)) {
          throw new IllegalStateException("cannot look up the API server's addresses: " + e.getMessage(), e);
        }
        LOG.warnf("cannot look up the API server's addresses yet, asking again in %d ms: %s",
            pause.toMillis(), e.getMessage());
        sleep(pause);
        pause = Collections.min(List.of(pause.multipliedBy(2), Duration.ofSeconds(5)));
      }
    }
  }

  private static void sleep(Duration pause) {
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the API server", e);
    }
  }

  private ApiServer lookUp() {
    Set<InetAddress> found = new LinkedHashSet<>();
    Set<Integer> ports = new TreeSet<>();
    literal(URI.create(client.getMasterUrl().toString()).getHost()).ifPresent(found::add);
    Service kubernetes = client.services().inNamespace("default").withName("kubernetes").get();
    if (kubernetes != null) {
      Optional.ofNullable(kubernetes.getSpec().getClusterIPs()).orElse(List.of()).stream()
          .map(ApiServerAddresses::literal)
          .flatMap(Optional::stream)
          .forEach(found::add);
    }
    List<EndpointSlice> slices = client.discovery().v1().endpointSlices().inNamespace("default")
        .withLabel(PortForwardReconciler.SERVICE_NAME_LABEL, "kubernetes").list().getItems();
    slices.stream()
        .map(EndpointSlice::getPorts)
        .filter(Objects::nonNull)
        .flatMap(List::stream)
        .map(EndpointPort::getPort)
        .filter(Objects::nonNull)
        .forEach(ports::add);
    slices.stream()
        .map(EndpointSlice::getEndpoints)
        .filter(Objects::nonNull)
        .flatMap(List::stream)
        .flatMap(e -> e.getAddresses().stream())
        .map(ApiServerAddresses::literal)
        .flatMap(Optional::stream)
        .forEach(found::add);
    return new ApiServer(List.copyOf(found), List.copyOf(ports));
  }

  private static Optional<InetAddress> literal(String host) {
    if (host == null) {
      return Optional.empty();
    }
    String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return Optional.ofNullable(NetUtil.createInetAddressFromIpAddressString(bare));
  }
}
