package dev.portforward.operator;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.common.ForwardSlices;
import dev.portforward.common.WithoutManagedFields;
import dev.portforward.operator.dataplane.BackendSlices;
import dev.portforward.operator.dataplane.DeletionHold;
import dev.portforward.operator.dataplane.NodeReports;
import dev.portforward.operator.dataplane.SlicePublisher;
import dev.portforward.operator.judge.Judge;
import dev.portforward.operator.judge.Judgement;
import dev.portforward.operator.judge.Snapshot;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.policy.PolicySelection;
import dev.portforward.operator.policy.PortClaims;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.operator.policy.ReservedPorts;
import dev.portforward.operator.relays.RelayResources;
import dev.portforward.operator.relays.RelayObjects;
import dev.portforward.operator.sidecar.SidecarSelection;
import dev.portforward.operator.status.StatusAggregator;
import dev.portforward.operator.status.StatusPacing;
import dev.portforward.operator.status.TransitionEvents;
import dev.portforward.operator.status.Verdict;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.SecondaryToPrimaryMapper;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Turns each PortForward into status and relay objects. The decision is the {@link Judge}'s, over
 * a {@link Snapshot} of the informer caches; this class watches everything a verdict depends on
 * (so a change anywhere re-evaluates exactly the PortForwards it affects), and writes the result.
 */
@ControllerConfiguration(name = PortForwardReconciler.NAME, informer = @Informer(itemStore = WithoutManagedFields.class))
public class PortForwardReconciler implements Reconciler<PortForward>, Cleaner<PortForward> {

  private static final Logger LOG = Logger.getLogger(PortForwardReconciler.class);
  static final String NAME = "portforward";
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private static final String BY_SERVICE = "by-service";
  private static final String BY_PODS_NAMESPACE = "by-pods-namespace";
  private static final String BY_CLAIM = "by-claim";
  private static final String LOSING_CLAIM = "losing-claim";
  private static final String LIMITED = "limited";
  private static final Duration NAMESPACE_RETRY = Duration.ofSeconds(1);
  private static final String BY_LISTED_NODE = "by-listed-node";
  /** The operator's own slices by "namespace/forward label" (ForwardSlices.publishedFor). */
  private static final String PUBLISHED_FOR = "published-for";
  private static final Duration RELAY_CONFLICT_RECHECK = Duration.ofSeconds(30);

  private final ForwardPolicy settingsPolicy;
  private final ApiServerAddresses apiServer;
  private final Judge judge;
  private final TransitionEvents events;
  private final Clock clock;
  private final Duration dataPlaneTimeout;
  /** When this operator last wrote each forward's status, for {@link StatusPacing}. */
  private final Map<ResourceID, Instant> statusWritten = new ConcurrentHashMap<>();

  private InformerEventSource<PortForward, PortForward> claims;
  private InformerEventSource<Namespace, PortForward> namespaces;
  private RelayObjects relays;
  private InformerEventSource<EndpointSlice, PortForward> endpointSlices;
  private InformerEventSource<PortForwardNodeReport, PortForward> reports;
  private Snapshot snapshot;

  PortForwardReconciler(OperatorConfig config, KubernetesClient client, ApiServerAddresses apiServer) {
    // Built here, so that bad settings stop the operator at start-up.
    this.settingsPolicy = ForwardPolicy.from(config.policy());
    RelayResources.of(config.relay().resources());
    this.apiServer = apiServer;
    this.events = new TransitionEvents(client);
    this.clock = Clock.systemUTC();
    this.dataPlaneTimeout = config.deletion().dataPlaneTimeout();
    this.judge = new Judge(config.relay(), ReservedPorts.from(config.policy(),
        ReservedPorts.ownPorts(config.webhook().port(), config.sidecar().managementPort())),
        config.policy().controlPlaneNodes());
  }

  @Override
  public List<EventSource<?, PortForward>> prepareEventSources(EventSourceContext<PortForward> context) {
    IndexerResourceCache<PortForward> primaries = context.getPrimaryCache();
    primaries.addIndexers(
        Map.of(
            BY_SERVICE, pf -> targets(pf)
                .flatMap(t -> Stream.concat(Stream.ofNullable(t.getService()).map(ServiceTarget::getName),
                    Optional.ofNullable(t.getServices()).orElse(List.of()).stream().map(WeightedService::getName)))
                .map(name -> key(pf.getMetadata().getNamespace(), name))
                .distinct().toList(),
            BY_PODS_NAMESPACE, pf -> targets(pf).anyMatch(t -> t.getPods() != null) || SidecarSelection.isSidecar(pf)
                ? List.of(pf.getMetadata().getNamespace()) : List.of(),
            BY_LISTED_NODE, pf -> pf.getStatus() == null ? List.of()
                : pf.getStatus().getNodes().stream().map(NodeState::getName).toList()));

    InformerEventSource<Service, PortForward> services = informer(context, Service.class, "services",
        svc -> ids(primaries.byIndex(BY_SERVICE, key(svc.getMetadata().getNamespace(), svc.getMetadata().getName()))));
    // A Service's slices wake the forwards to it; a forward's own slices (BackendSlices) wake it,
    // so that a slice changed or deleted by someone else is put back.
    endpointSlices = informer(context, EndpointSlice.class, "endpointslices", slice -> {
      Set<ResourceID> affected = new HashSet<>(Optional.ofNullable(slice.getMetadata().getLabels())
          .map(l -> l.get(SERVICE_NAME_LABEL))
          .map(svc -> ids(primaries.byIndex(BY_SERVICE, key(slice.getMetadata().getNamespace(), svc))))
          .orElse(Set.of()));
      Optional.ofNullable(slice.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
          .filter(o -> "PortForward".equals(o.getKind()) && Boolean.TRUE.equals(o.getController()))
          .forEach(o -> affected.add(new ResourceID(o.getName(), slice.getMetadata().getNamespace())));
      return affected;
    });
    endpointSlices.addIndexers(Map.of(PUBLISHED_FOR, slice -> ForwardSlices.forwardLabelOf(slice)
        .map(forward -> List.of(key(slice.getMetadata().getNamespace(), forward))).orElse(List.of())));
    InformerEventSource<Pod, PortForward> pods = informer(context, Pod.class, "pods",
        pod -> ids(primaries.byIndex(BY_PODS_NAMESPACE, pod.getMetadata().getNamespace())));
    // A change to any PortForward can move the ownership of its port (or of the port it left), so
    // it wakes the others on the same port and every current loser; and it can free a slot of its
    // namespace's forward limit, so it wakes the forwards of its namespace the limit left out. Not
    // itself: its own changes reach it as primary events, and its status writes need no second look.
    claims = informer(context, PortForward.class, "claims", pf -> {
      Set<ResourceID> affected = new HashSet<>(ids(claims.byIndex(BY_CLAIM, PortClaims.key(pf))));
      affected.addAll(ids(claims.byIndex(LOSING_CLAIM, LOSING_CLAIM)));
      affected.addAll(ids(claims.byIndex(LIMITED, pf.getMetadata().getNamespace())));
      affected.remove(ResourceID.fromResource(pf));
      return affected;
    });
    claims.addIndexers(Map.of(
        BY_CLAIM, pf -> List.of(PortClaims.key(pf)),
        LOSING_CLAIM, pf -> isRefusedFor(pf, Reason.PORT_CONFLICT) ? List.of(LOSING_CLAIM) : List.of(),
        LIMITED, pf -> isRefusedFor(pf, Reason.FORWARD_LIMIT_REACHED)
            ? List.of(pf.getMetadata().getNamespace()) : List.of()));

    // Which policy governs a namespace depends on every policy's selector and precedence, and the
    // mapper sees only a policy's new state, not the namespaces its old selector chose: a change
    // to any policy re-evaluates every forward (policies change rarely).
    InformerEventSource<PortForwardPolicy, PortForward> policies = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(PortForwardPolicy.class, PortForward.class)
            .withName("policies")
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(policy -> ids(primaries.list().toList()))
            .build(),
        context);
    // A namespace's labels decide which policy governs it; only a change of labels wakes its forwards.
    namespaces = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Namespace.class, PortForward.class)
            .withName("namespaces")
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(ns -> ids(primaries.list(ns.getMetadata().getName()).toList()))
            .withOnUpdateFilter((before, after) ->
                !Objects.equals(before.getMetadata().getLabels(), after.getMetadata().getLabels()))
            .build(),
        context);

    // Node labels decide which nodes a forward selects, node addresses which targets are denied,
    // the Ready condition whether a node's rules count; status heartbeats must not wake anyone.
    InformerEventSource<Node, PortForward> nodes = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Node.class, PortForward.class)
            .withName("nodes")
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(node -> ids(primaries.list().toList()))
            .withOnUpdateFilter((before, after) ->
                !Objects.equals(before.getMetadata().getLabels(), after.getMetadata().getLabels())
                    || !Objects.equals(addresses(before), addresses(after))
                    || !Objects.equals(NodeReports.notReady(before), NodeReports.notReady(after)))
            .build(),
        context);
    // A report wakes the forwards whose entry it added, changed or dropped: each agent lists every
    // forward on its node, so waking them all for a change to one made the work grow with nodes
    // times forwards. The informer hands the mapper only the new version, so the last one seen of
    // each node's report is kept. A report that appears or goes wakes the forwards whose status
    // lists its node as well; one that only renews its sync time wakes nobody.
    Map<String, PortForwardNodeReport> lastReports = new ConcurrentHashMap<>();
    reports = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(PortForwardNodeReport.class, PortForward.class)
            .withName("node-reports")
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(report -> {
              String node = report.getMetadata().getName();
              boolean gone = reports.get(new ResourceID(node)).isEmpty();
              PortForwardNodeReport before = gone ? lastReports.remove(node) : lastReports.put(node, report);
              Set<ResourceID> affected = NodeReports.changedEntries(before, gone ? null : report).stream()
                  .map(f -> new ResourceID(f.getName(), f.getNamespace()))
                  .collect(Collectors.toCollection(HashSet::new));
              if (gone || before == null) {
                affected.addAll(ids(primaries.byIndex(BY_LISTED_NODE, node)));
              }
              return affected;
            })
            // Forwards read their nodes' reports by name (InformerSnapshot): without this mapper
            // JOSDK would index every report's forwards, nodes times forwards entries.
            .withPrimaryToSecondaryMapper((PortForward pf) -> pf.getStatus() == null ? Set.of()
                : pf.getStatus().getNodes().stream().map(n -> new ResourceID(n.getName())).collect(Collectors.toSet()))
            .withOnUpdateFilter((before, after) -> !sameExceptSyncTime(before, after))
            .build(),
        context);

    relays = new RelayObjects(context);
    snapshot = new InformerSnapshot(
        new InformerSnapshot.Caches(services, endpointSlices, pods, key -> claims.byIndex(BY_CLAIM, key),
            namespace -> claims.list(namespace).toList(), nodes, reports, relays),
        namespace -> PolicySelection.effective(settingsPolicy, policies.list().toList(),
            namespaces.get(new ResourceID(namespace)).map(ns -> ns.getMetadata().getLabels()).orElse(Map.of())),
        apiServer::get);
    List<EventSource<?, PortForward>> sources =
        new ArrayList<>(List.of(services, endpointSlices, pods, claims, nodes, reports, policies, namespaces));
    sources.addAll(relays.eventSources());
    return sources;
  }

  @Override
  public UpdateControl<PortForward> reconcile(PortForward pf, Context<PortForward> context) {
    if (namespaces.get(new ResourceID(pf.getMetadata().getNamespace())).isEmpty()) {
      // Its labels choose its policy: judging it by the default meanwhile could grant what its
      // own policy refuses. The namespace's event wakes it; the retry is for safety.
      return UpdateControl.<PortForward>noUpdate().rescheduleAfter(NAMESPACE_RETRY);
    }
    Judgement judgement = judge.judge(pf, snapshot);
    // The operator adopts nothing: a relay object someone else made under the forward's names
    // refuses the forward. That object is not watched (the informers see only the operator's own
    // objects), so the forward is looked at again until it is gone.
    Optional<Refusal> relayConflict = judgement.relays().flatMap(wanted ->
        relays.reconcile(pf, wanted, context.getClient(), context.getControllerConfiguration().fieldManager()));
    Verdict verdict = relayConflict
        .map(conflict -> Judge.refused(pf, conflict, judgement.verdict()))
        .orElse(judgement.verdict());
    // Before the status: an agent that sees the forward accepted finds its backends published.
    publishSlices(pf, verdict.accepted().ok() ? BackendSlices.desired(pf, snapshot.pods(pf.getMetadata().getNamespace()))
        : List.of(), context);
    UpdateControl<PortForward> done = relayConflict.isPresent()
        ? UpdateControl.<PortForward>noUpdate().rescheduleAfter(RELAY_CONFLICT_RECHECK) : UpdateControl.noUpdate();
    Instant now = clock.instant();
    PortForwardStatus next = StatusAggregator.next(pf, verdict, now);
    if (StatusAggregator.unchanged(pf.getStatus(), next)) {
      return done;
    }
    ResourceID id = ResourceID.fromResource(pf);
    Optional<Duration> paced = StatusPacing.delay(pf.getStatus(), next, Optional.ofNullable(statusWritten.get(id)), now);
    if (paced.isPresent()) {
      return UpdateControl.<PortForward>noUpdate().rescheduleAfter(paced.get());
    }
    events.record(pf, pf.getStatus(), next, now);
    // Written with optimistic locking and cached for the next reconcile: an event that arrives
    // before the informer has seen this write must not write the same transition again.
    PrimaryUpdateAndCacheUtils.updateAndCacheResource(pf, context,
        fresh -> statusPatch(fresh, StatusAggregator.next(fresh, verdict, now)),
        patch -> context.getClient().resource(patch).subresource("status").patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager(context.getControllerConfiguration().fieldManager())
                .withForce(true)
                .build()));
    statusWritten.put(id, now);
    return done;
  }

  /** The forward's backend slices, as {@code desired} says: none for a forward that is not accepted. */
  private void publishSlices(PortForward pf, List<EndpointSlice> desired, Context<PortForward> context) {
    String namespace = pf.getMetadata().getNamespace();
    // By index and by name, not a scan of the namespace's slices: a namespace may hold thousands.
    Map<String, EndpointSlice> existing = new LinkedHashMap<>();
    endpointSlices.byIndex(PUBLISHED_FOR, key(namespace, ForwardSlices.forwardLabel(pf.getMetadata().getName())))
        .forEach(slice -> existing.put(slice.getMetadata().getName(), slice));
    desired.forEach(slice -> endpointSlices.get(new ResourceID(slice.getMetadata().getName(), namespace))
        .ifPresent(found -> existing.putIfAbsent(found.getMetadata().getName(), found)));
    SlicePublisher.publish(pf, desired, List.copyOf(existing.values()), context.getClient(),
        context.getControllerConfiguration().fieldManager());
  }

  /** Only what server-side apply of the status needs: identity and the new status. */
  private static PortForward statusPatch(PortForward pf, PortForwardStatus status) {
    PortForward patch = new PortForward();
    patch.setMetadata(new ObjectMetaBuilder()
        .withName(pf.getMetadata().getName())
        .withNamespace(pf.getMetadata().getNamespace())
        .build());
    patch.setStatus(status);
    return patch;
  }

  @Override
  public ErrorStatusUpdateControl<PortForward> updateErrorStatus(
      PortForward pf, Context<PortForward> context, Exception e) {
    PortForwardStatus next = StatusAggregator.next(pf, Judge.error(pf, e), clock.instant());
    if (StatusAggregator.unchanged(pf.getStatus(), next)) {
      return ErrorStatusUpdateControl.defaultErrorProcessing();
    }
    events.record(pf, pf.getStatus(), next, clock.instant());
    pf.setStatus(next);
    return ErrorStatusUpdateControl.patchStatus(pf);
  }

  /**
   * Holds the finalizer until the nodes that listed the forward no longer do (they removed its
   * rules and gateway mapping), for at most the deletion's bound; the reports' events wake it,
   * and it looks again meanwhile without holding a thread. Relay objects go with the PortForward
   * (owner references).
   */
  @Override
  public DeleteControl cleanup(PortForward pf, Context<PortForward> context) {
    DeletionHold.Decision decision = DeletionHold.decide(pf, reports.list().toList(), clock.instant(), dataPlaneTimeout);
    if (!decision.release()) {
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(decision.recheckIn());
    }
    if (!decision.holdingNodes().isEmpty()) {
      LOG.warnf("PortForward %s/%s: released %ds after its deletion although node(s) %s still list it"
          + " (agent stopped or unreachable?); their agents remove its rules when they run again",
          pf.getMetadata().getNamespace(), pf.getMetadata().getName(), dataPlaneTimeout.toSeconds(),
          decision.holdingNodes());
    }
    relays.forget(pf);
    statusWritten.remove(ResourceID.fromResource(pf));
    return DeleteControl.defaultDelete();
  }

  private static Stream<Target> targets(PortForward pf) {
    return ForwardPolicy.targets(pf.getSpec());
  }

  private static List<NodeAddress> addresses(Node node) {
    return node.getStatus() == null ? List.of() : node.getStatus().getAddresses();
  }

  private static boolean sameExceptSyncTime(PortForwardNodeReport a, PortForwardNodeReport b) {
    if (a.getStatus() == null || b.getStatus() == null) {
      return a.getStatus() == b.getStatus();
    }
    return a.getStatus().isProgrammed() == b.getStatus().isProgrammed()
        && Objects.equals(a.getStatus().getMessage(), b.getStatus().getMessage())
        && StatusAggregator.sameJson(a.getStatus().getForwards(), b.getStatus().getForwards());
  }

  private static boolean isRefusedFor(PortForward pf, String reason) {
    return pf.getStatus() != null
        && StatusAggregator.find(pf.getStatus().getConditions(), Conditions.ACCEPTED)
            .filter(c -> reason.equals(c.getReason()))
            .isPresent();
  }

  private static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  private static Set<ResourceID> ids(List<PortForward> pfs) {
    return pfs.stream().map(ResourceID::fromResource).collect(Collectors.toSet());
  }

  private static <R extends HasMetadata> InformerEventSource<R, PortForward> informer(
      EventSourceContext<PortForward> context, Class<R> type, String name,
      SecondaryToPrimaryMapper<R> mapper) {
    return new InformerEventSource<>(
        InformerEventSourceConfiguration.from(type, PortForward.class)
            .withName(name)
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(mapper)
            .build(),
        context);
  }
}
