package dev.portforward.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.Limits;
import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.common.ForwardSlices;
import dev.portforward.common.WithoutManagedFields;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * The agent's control loop: watches what its node's forwards depend on (PortForwards, Services,
 * EndpointSlices, among them those the operator publishes for pods targets, and its own Node;
 * never Pods, whose number grows with the cluster), coalesces bursts of changes into one sync,
 * re-checks the kernel periodically (drift), and reports the outcome in its node's
 * PortForwardNodeReport. When the API server is away it keeps its caches and its
 * rules: nothing is ever flushed for want of an answer.
 */
public final class AgentLoop implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(AgentLoop.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  /** The field manager of everything the agent writes: its node's report. */
  static final String FIELD_MANAGER = "portforward-agent";
  private static final PatchContext APPLY = new PatchContext.Builder()
      .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(FIELD_MANAGER).withForce(true).build();
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
  /** Slices by "namespace/service" (a Service's own) and by "namespace/forward" (published by the operator). */
  private static final String BY_SERVICE = "by-service";
  private static final String BY_FORWARD = "by-forward";
  /** ForwardReport.message's maxLength in the CRD. */
  private static final int MAX_MESSAGE = 1024;
  /** How long stopping waits for a sync in progress. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(10);

  private final KubernetesClient client;
  private final String nodeName;
  private final NodeSync sync;
  private final GatewayMappings gateway;
  private final NodePlanner.Policy policy;
  private final Duration minSyncInterval;
  private final Duration resyncPeriod;
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(
      r -> new Thread(r, "agent-sync"));
  private final AtomicBoolean pending = new AtomicBoolean();
  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private SharedIndexInformer<PortForward> portForwards;
  private SharedIndexInformer<Service> services;
  private SharedIndexInformer<EndpointSlice> endpointSlices;
  private SharedIndexInformer<Node> node;
  private NodeReportStatus reported;
  private volatile NodePlanner.Kernel kernel = NodePlanner.Kernel.COMPLETE;
  /** What the kernel carries from the last plan that was applied whole. */
  private volatile List<NodeForward> carried = List.of();
  /** Whether the gateway mappings run, with what the last report listed; only the sync thread touches it. */
  private boolean gatewayStarted;
  private volatile boolean programmed;
  private final AtomicInteger forwardsProgrammed = new AtomicInteger();
  private final AtomicInteger forwardsUnprogrammed = new AtomicInteger();
  private final Counter applies;
  private final Counter failures;
  private final Timer syncTime;

  public AgentLoop(KubernetesClient client, String nodeName, NodeSync sync, GatewayMappings gateway,
      NodePlanner.Policy policy, Duration minSyncInterval, Duration resyncPeriod, MeterRegistry metrics) {
    this.client = client;
    this.nodeName = nodeName;
    this.sync = sync;
    this.gateway = gateway;
    this.policy = policy;
    this.minSyncInterval = minSyncInterval;
    this.resyncPeriod = resyncPeriod;
    metrics.gauge("portforward.agent.forwards.programmed", forwardsProgrammed);
    // Forwards this node should carry but does not: the alert "not programmed for 5 minutes".
    metrics.gauge("portforward.agent.forwards.unprogrammed", forwardsUnprogrammed);
    // Mappings a gateway refused (MappingRefused; one that does not answer is not counted).
    metrics.gauge("portforward.agent.gateway.mappings.refused", gateway, GatewayMappings::refused);
    this.applies = metrics.counter("portforward.agent.applies");
    this.failures = metrics.counter("portforward.agent.apply.failures");
    this.syncTime = metrics.timer("portforward.agent.sync");
  }

  /** Ready: the caches are synced and the last sync put the rules in place. */
  public boolean isProgrammed() {
    return programmed;
  }

  public AgentLoop start() {
    kernel = sync.kernel();
    if (!kernel.ftpHelper()) {
      LOG.warnf("node %s: the kernel has no FTP connection-tracking helper (nf_conntrack_ftp, nf_nat_ftp);"
          + " forwards with applicationProtocol FTP are reported as not programmed", nodeName);
    }
    portForwards = watch(client.resources(PortForward.class).inAnyNamespace().runnableInformer(0), new PlannedForwards());
    services = watch(client.services().inAnyNamespace().runnableInformer(0), new WithoutManagedFields<>());
    endpointSlices = watch(client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0),
        new WithoutManagedFields<>());
    endpointSlices.addIndexers(Map.of(
        BY_SERVICE, slice -> label(slice, SERVICE_NAME_LABEL)
            .map(service -> List.of(slice.getMetadata().getNamespace() + "/" + service)).orElse(List.of()),
        BY_FORWARD, slice -> ForwardSlices.forwardLabelOf(slice)
            .map(forward -> List.of(slice.getMetadata().getNamespace() + "/" + forward)).orElse(List.of())));
    node = watch(client.nodes().withName(nodeName).runnableInformer(0), new WithoutManagedFields<>());
    // Events that arrive while another cache is still listing find the caches incomplete and plan
    // nothing; the sync once all have listed must not wait for the next change or resync.
    CompletableFuture.allOf(informers.stream().map(i -> i.start().toCompletableFuture())
        .toArray(CompletableFuture[]::new)).thenRun(this::trigger);
    executor.scheduleWithFixedDelay(() -> syncNow(true), resyncPeriod.toMillis(), resyncPeriod.toMillis(),
        TimeUnit.MILLISECONDS);
    return this;
  }

  /**
   * Starts the gateway mappings once the mappings this node's last report lists are known: what
   * an earlier agent left behind, to be kept or removed. Until the report could be read (the API
   * server failing at start), no mapping is asked for and no report written, since a report
   * written without them would forget them; the next sync asks again. Returns whether started.
   */
  private boolean gatewayStarted() {
    if (gatewayStarted) {
      return true;
    }
    try {
      PortForwardNodeReport last = client.resources(PortForwardNodeReport.class).withName(nodeName).get();
      gateway.start(last == null ? Map.of() : GatewayMappings.reported(last.getStatus()), this::trigger);
      gatewayStarted = true;
      return true;
    } catch (KubernetesClientException e) {
      LOG.warnf("node %s: could not read the last node report, will retry: %s", nodeName, e.getMessage());
      return false;
    }
  }

  private <T extends HasMetadata> SharedIndexInformer<T> watch(SharedIndexInformer<T> informer, ItemStore<T> store) {
    informer.itemStore(store);
    // Keep listing and watching through any API outage, however long: never give up on a cache.
    informer.exceptionHandler((started, error) -> {
      LOG.warnf("node %s: watch failed, retrying: %s", nodeName, error.getMessage());
      return true;
    });
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override public void onAdd(T obj) {
        trigger();
      }

      @Override public void onUpdate(T before, T after) {
        trigger();
      }

      @Override public void onDelete(T obj, boolean finalStateUnknown) {
        trigger();
      }
    });
    informers.add(informer);
    return informer;
  }

  /** Coalesces: at most one sync is pending, run minSyncInterval after the first change. */
  private void trigger() {
    if (pending.compareAndSet(false, true)) {
      executor.schedule(() -> {
        pending.set(false);
        syncNow(false);
      }, minSyncInterval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Plans and applies; {@code verify} also checks the kernel's table for drift. */
  private void syncNow(boolean verify) {
    try {
      Node self = node.getStore().getByKey(nodeName);
      if (self == null || !informers.stream().allMatch(SharedIndexInformer::hasSynced)) {
        return;
      }
      NodePlanner.Plan plan = NodePlanner.plan(self, view(), policy, kernel, carried);
      boolean gatewayKnown = gatewayStarted();
      if (gatewayKnown) {
        gateway.want(plan.gateway());
      }
      long start = System.nanoTime();
      NodeSync.Outcome outcome = verify ? sync.verify(plan.forwards()) : sync.sync(plan.forwards());
      syncTime.record(Duration.ofNanos(System.nanoTime() - start));
      programmed = outcome.programmed();
      forwardsUnprogrammed.set(unprogrammed(plan, outcome));
      if (outcome.applied()) {
        applies.increment();
        forwardsProgrammed.set(plan.forwards().size() - outcome.refused().size());
      }
      if (outcome.error() == null) {
        carried = plan.forwards();
      } else {
        failures.increment();
        LOG.errorf("node %s: applying the ruleset failed, previous rules stay in force: %s", nodeName, outcome.error());
      }
      if (outcome.applied()) {
        // Said when the table changes, not at every sync that finds nothing to do.
        outcome.refused().forEach((id, why) ->
            LOG.errorf("node %s: the kernel refused forward %s, the others are in place: %s", nodeName, id, why));
      }
      if (gatewayKnown) {
        report(self, plan, outcome);
      }
    } catch (RuntimeException | Error e) {
      // The loop must outlive any one failure; the next change or resync tries again. An Error
      // too: one that escaped would end the scheduled resync for good, and silently.
      LOG.errorf(e, "node %s: sync failed", nodeName);
    }
  }

  private NodePlanner.View view() {
    return new NodePlanner.View() {
      @Override public List<PortForward> portForwards() {
        return portForwards.getStore().list();
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return Optional.ofNullable(services.getStore().getByKey(namespace + "/" + name));
      }

      @Override public List<EndpointSlice> endpointSlices(String namespace, String service) {
        return endpointSlices.getIndexer().byIndex(BY_SERVICE, namespace + "/" + service);
      }

      @Override public List<EndpointSlice> forwardSlices(String namespace, String portForward) {
        return endpointSlices.getIndexer().byIndex(BY_FORWARD, namespace + "/" + portForward);
      }
    };
  }

  /**
   * How many forwards this node should carry and does not: those the plan could not program here
   * (no address, a port held by another forward, a refused backend), those the kernel refused, and
   * all of them while the node's ruleset cannot be applied.
   */
  static int unprogrammed(NodePlanner.Plan plan, NodeSync.Outcome outcome) {
    if (!outcome.programmed()) {
      return plan.report().size();
    }
    return (int) plan.report().stream()
        .filter(f -> !f.isProgrammed() || outcome.refused().containsKey(f.getNamespace() + "/" + f.getName()))
        .count();
  }

  /** Writes the node's report when what it says changed; an unreachable API server waits. */
  private void report(Node self, NodePlanner.Plan plan, NodeSync.Outcome outcome) {
    NodeReportStatus status = new NodeReportStatus();
    status.setProgrammed(outcome.programmed());
    status.setMessage(outcome.error());
    List<ForwardReport> forwards = plan.report();
    forwards.forEach(f -> gateway.report(f.getNamespace() + "/" + f.getName()).ifPresent(f::setGateway));
    if (!outcome.programmed()) {
      forwards.forEach(f -> {
        f.setProgrammed(false);
        f.setMessage("the node's ruleset could not be applied: " + outcome.error());
      });
    }
    forwards.forEach(f -> Optional.ofNullable(outcome.refused().get(f.getNamespace() + "/" + f.getName()))
        .ifPresent(why -> {
          f.setProgrammed(false);
          f.setMessage(bounded("the kernel refused this forward (the node's other forwards are in place): " + why));
        }));
    if (!outcome.refused().isEmpty()) {
      status.setMessage("the kernel refused " + outcome.refused().size() + " forward(s); the others are in place");
    }
    if (forwards.size() > Limits.MAX_FORWARDS_PER_NODE) {
      // A report the API server would refuse helps nobody: list what fits, and say so.
      status.setMessage((outcome.error() == null ? "" : outcome.error() + "; ") + "this node carries "
          + forwards.size() + " forwards; the report lists the first " + Limits.MAX_FORWARDS_PER_NODE);
      forwards = forwards.subList(0, Limits.MAX_FORWARDS_PER_NODE);
    }
    status.setForwards(forwards);
    if (reported != null && JSON.valueToTree(reported).equals(JSON.valueToTree(withTime(status, reported.getLastSyncTime())))) {
      return;
    }
    status.setLastSyncTime(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    try {
      applyStatus(self, status);
      reported = status;
    } catch (KubernetesClientException e) {
      LOG.warnf("node %s: could not write the node report (will retry): %s", nodeName, e.getMessage());
    }
  }

  /**
   * One server-side apply of the report's status, which this agent alone writes (so it forces
   * conflicts with what an earlier writer left). A status cannot be applied to a report that does
   * not exist yet: the first write creates it, owned by the Node, so a node that leaves the
   * cluster takes its report along.
   */
  private void applyStatus(Node self, NodeReportStatus status) {
    PortForwardNodeReport patch = new PortForwardNodeReport();
    patch.setMetadata(new ObjectMetaBuilder().withName(nodeName).build());
    patch.setStatus(status);
    try {
      client.resource(patch).subresource("status").patch(APPLY);
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
        throw e;
      }
      PortForwardNodeReport report = new PortForwardNodeReport();
      report.setMetadata(new ObjectMetaBuilder().withName(nodeName)
          .addNewOwnerReference().withApiVersion("v1").withKind("Node").withName(nodeName)
          .withUid(self.getMetadata().getUid()).endOwnerReference()
          .build());
      client.resource(report).patch(APPLY);
      client.resource(patch).subresource("status").patch(APPLY);
    }
  }

  private static Optional<String> label(HasMetadata object, String key) {
    return Optional.ofNullable(object.getMetadata().getLabels()).map(labels -> labels.get(key));
  }

  /** A forward's message as the CRD bounds it. */
  private static String bounded(String message) {
    return message.length() <= MAX_MESSAGE ? message : message.substring(0, MAX_MESSAGE - 3) + "...";
  }

  private static NodeReportStatus withTime(NodeReportStatus status, String time) {
    status.setLastSyncTime(time);
    return status;
  }

  /**
   * Stops; a node left holding no forward also loses its table and any gateway mapping still
   * being removed, so an uninstall leaves none behind.
   */
  @Override
  public void close() {
    executor.shutdownNow();
    try {
      // A sync still running must finish before the table can be judged empty.
      executor.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (sync.removeTableIfEmpty()) {
        LOG.infof("node %s holds no forward: removed the agent's table on stopping", nodeName);
        gateway.closeRemovingAll(STOP_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.warnf("node %s: could not remove the agent's empty table on stopping: %s", nodeName, e.getMessage());
    }
    gateway.close();
    informers.forEach(SharedIndexInformer::close);
  }
}
