package dev.portforward.bench;

import dev.portforward.agent.AgentLoop;
import dev.portforward.agent.GatewayMappings;
import dev.portforward.agent.NodePlanner;
import dev.portforward.agent.NodeSync;
import dev.portforward.agent.nft.Nft;
import dev.portforward.testbed.ControlPlane;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.kubernetes.client.vertx.VertxHttpClientFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Many node agents in one JVM, as kubemark's hollow nodes: each is the real {@link AgentLoop} with
 * its own API client, caches and report, on a Node object that no kubelet backs; only the nft and
 * conntrack commands are replaced by a recorder that accepts everything. Counts every API request
 * the agents make, by verb and resource, so the bench can say what one agent costs the API server.
 */
final class HollowNodes implements AutoCloseable {

  static final String POOL_LABEL = "bench.portforward.dev/pool";

  private final List<AgentLoop> agents = new ArrayList<>();
  private final List<KubernetesClient> clients = new ArrayList<>();
  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final LongAdder nftApplies = new LongAdder();
  /** One registry for all agents: their sync timers add up (each agent's gauges are left to the first). */
  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

  /**
   * Creates {@code count} Ready nodes, spread over {@code pools} pools by label, and starts an agent on each.
   * Their addresses are 10.200.x.y: nothing is ever sent to them.
   */
  static HollowNodes start(ControlPlane cp, KubernetesClient admin, int count, int pools) throws Exception {
    HollowNodes hollow = new HollowNodes();
    String kubeconfig = Files.readString(cp.kubeconfig());
    // Shared by all agents, as it would be per process: the event loops and the JSON mapper.
    VertxHttpClientFactory http = new VertxHttpClientFactory();
    KubernetesSerialization serialization = new KubernetesSerialization();
    for (int i = 0; i < count; i++) {
      String name = name(i);
      Node node = admin.resource(new NodeBuilder().withNewMetadata().withName(name)
          .addToLabels(POOL_LABEL, pool(i % pools)).endMetadata().build()).create();
      node.setStatus(new NodeStatusBuilder()
          .addNewAddress().withType("InternalIP").withAddress("10.200." + (i / 250) + "." + (i % 250 + 1)).endAddress()
          .addNewCondition().withType("Ready").withStatus("True").endCondition().build());
      admin.resource(node).updateStatus();
      KubernetesClient client = new KubernetesClientBuilder()
          .withConfig(Config.fromKubeconfig(null, kubeconfig, cp.kubeconfig().toString()))
          .withHttpClientFactory(http)
          .withKubernetesSerialization(serialization)
          .withHttpClientBuilderConsumer(builder -> builder.addOrReplaceInterceptor("count", hollow.counter()))
          .build();
      hollow.clients.add(client);
      NodeSync sync = new NodeSync(new Nft(hollow::record));
      GatewayMappings noGateway = new GatewayMappings(Optional::empty, address -> {
        throw new IllegalStateException("hollow nodes have no gateway");
      }, Clock.systemUTC(), Duration.ofHours(1));
      hollow.agents.add(new AgentLoop(client, name, sync, noGateway, NodePlanner.Policy.DEFAULT,
          Duration.ofMillis(100), Duration.ofHours(1), hollow.metrics).start());
    }
    return hollow;
  }

  static String name(int i) {
    return "hollow-" + i;
  }

  static String pool(int p) {
    return "p" + p;
  }

  /** Every kernel command succeeds; a ruleset is counted, and no table is ever listed. */
  private String record(String stdin, boolean withErrors, List<String> command) {
    if (command.contains("-f") && !command.contains("-c")) {
      nftApplies.increment();
    }
    return "";
  }

  private Interceptor counter() {
    return new Interceptor() {
      @Override public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        requests.computeIfAbsent(kind(request), k -> new LongAdder()).increment();
      }
    };
  }

  /** "WATCH nodes", "PUT portforwardnodereports/status", ...: the verb and the resource, without names. */
  private static String kind(HttpRequest request) {
    String query = Optional.ofNullable(request.uri().getRawQuery()).orElse("");
    String verb = "GET".equals(request.method()) && query.contains("watch=true") ? "WATCH" : request.method();
    String[] path = request.uri().getPath().split("/");
    // /api/v1/nodes[/name], /apis/group/version/[namespaces/ns/]resource[/name][/status]
    int resource = path.length > 1 && "api".equals(path[1]) ? 3 : 4;
    if (path.length > resource + 1 && "namespaces".equals(path[resource]) && path.length > resource + 2) {
      resource += 2;
    }
    String what = path.length > resource ? path[resource] : request.uri().getPath();
    String sub = path.length > resource + 2 ? "/" + path[resource + 2] : "";
    boolean collection = path.length == resource + 1;
    return verb + (collection && "GET".equals(verb) ? " (list) " : " ") + what + sub;
  }

  /** Requests so far by kind, summed over all agents. */
  Map<String, Long> requests() {
    Map<String, Long> counts = new TreeMap<>();
    requests.forEach((kind, n) -> counts.put(kind, n.sum()));
    return counts;
  }

  long nftApplies() {
    return nftApplies.sum();
  }

  boolean allProgrammed() {
    return agents.stream().allMatch(AgentLoop::isProgrammed);
  }

  int size() {
    return agents.size();
  }

  /** Syncs (plans, and applies where the plan changed) of all agents so far. */
  long syncs() {
    return metrics.timer("portforward.agent.sync").count();
  }

  @Override
  public void close() {
    agents.parallelStream().forEach(AgentLoop::close);
    clients.forEach(KubernetesClient::close);
  }
}
