package dev.portforward.operator.gatewayapi;

import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.InformerStoppedHandler;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Starts the Gateway API controllers once the Gateway API is served. Their informers would fail
 * the operator's start on a cluster without the CRDs, so they run in a framework instance of
 * their own (with a lease of their own), started when discovery lists every kind they watch;
 * until then the API's discovery document, which every authenticated client may read, is polled.
 */
public final class GatewayApiControllers implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(GatewayApiControllers.class);
  static final String FIELD_MANAGER = "portforward-gateway-controller";
  static final String GROUP_VERSION = GatewayApi.GROUP + "/v1";
  static final Set<String> KINDS = Set.of("gatewayclasses", "gateways", "tcproutes", "udproutes", "referencegrants");

  private final KubernetesClient client;
  private final LeaderElectionConfiguration leaderElection;
  private final InformerStoppedHandler informerStopped;
  private final ScheduledExecutorService discovery;
  private Operator operator;
  private boolean closed;

  private GatewayApiControllers(KubernetesClient client, LeaderElectionConfiguration leaderElection,
      InformerStoppedHandler informerStopped) {
    this.client = client;
    this.leaderElection = leaderElection;
    this.informerStopped = informerStopped;
    this.discovery = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "gateway-api-discovery");
      thread.setDaemon(true);
      return thread;
    });
  }

  /**
   * Looks for the Gateway API now and every {@code interval} until it is served, then starts the
   * controllers, electing their leader with {@code leaderElection}.
   */
  public static GatewayApiControllers start(KubernetesClient client, LeaderElectionConfiguration leaderElection,
      InformerStoppedHandler informerStopped, Duration interval) {
    GatewayApiControllers controllers = new GatewayApiControllers(client, leaderElection, informerStopped);
    controllers.discovery.scheduleWithFixedDelay(controllers::startIfServed, 0, interval.toMillis(),
        TimeUnit.MILLISECONDS);
    return controllers;
  }

  private void startIfServed() {
    try {
      Set<String> missing = missingKinds();
      if (!missing.isEmpty()) {
        LOG.debugf("Gateway API %s not served yet (missing %s); looking again later", GROUP_VERSION, missing);
        return;
      }
      synchronized (this) {
        if (closed || operator != null) {
          return;
        }
        Operator started = new Operator(o -> o.withKubernetesClient(client)
            .withCloseClientOnStop(false)
            .withLeaderElectionConfiguration(leaderElection)
            .withInformerStoppedHandler(informerStopped));
        Clock clock = Clock.systemUTC();
        started.register(new GatewayClassReconciler(clock));
        started.register(new GatewayReconciler(clock));
        started.start();
        operator = started;
      }
      LOG.infof("Gateway API %s is served: the GatewayClass and Gateway controllers (%s) started", GROUP_VERSION,
          GatewayApi.CONTROLLER_NAME);
      discovery.shutdown();
    } catch (RuntimeException e) {
      LOG.warnf("Gateway API controllers not started, trying again later: %s", e.toString());
    }
  }

  private Set<String> missingKinds() {
    List<APIResource> served;
    try {
      served = Optional.ofNullable(client.getApiResources(GROUP_VERSION)).map(APIResourceList::getResources)
          .orElse(List.of());
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
      served = List.of();
    }
    Set<String> names = served.stream().map(APIResource::getName).collect(Collectors.toSet());
    return KINDS.stream().filter(k -> !names.contains(k)).collect(Collectors.toSet());
  }

  /** Whether the controllers run (the Gateway API was found). */
  public synchronized boolean running() {
    return operator != null;
  }

  @Override
  public synchronized void close() {
    closed = true;
    discovery.shutdownNow();
    if (operator != null) {
      operator.stop();
    }
  }
}
