package dev.portforward.operator;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.operator.dataplane.DataPlaneState;
import dev.portforward.operator.dataplane.NodeReports;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.policy.PortClaims;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.operator.relays.RelayObjects;
import dev.portforward.operator.relays.RelayPlans;
import dev.portforward.operator.relays.RelayPlans.RelayPlan;
import dev.portforward.operator.sidecar.SidecarConflicts;
import dev.portforward.operator.sidecar.SidecarEvidence;
import dev.portforward.operator.sidecar.SidecarSelection;
import dev.portforward.operator.status.Check;
import dev.portforward.operator.status.StatusAggregator;
import dev.portforward.operator.status.TransitionEvents;
import dev.portforward.operator.status.Verdict;
import dev.portforward.operator.target.Backend;
import dev.portforward.operator.target.Resolution;
import dev.portforward.operator.target.TargetResolver;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
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
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Turns each PortForward into status: is it allowed and without conflict (Accepted), does its
 * target exist (ResolvedRefs), is it in place on the nodes (Programmed) and can traffic flow
 * (Ready). It watches everything a verdict depends on, so a change anywhere re-evaluates exactly
 * the PortForwards it affects.
 */
@ControllerConfiguration(name = PortForwardReconciler.NAME)
public class PortForwardReconciler implements Reconciler<PortForward>, Cleaner<PortForward> {

  static final String NAME = "portforward";
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private static final String BY_SERVICE = "by-service";
  private static final String BY_PODS_NAMESPACE = "by-pods-namespace";
  private static final String BY_CLAIM = "by-claim";
  private static final String LOSING_CLAIM = "losing-claim";
  private static final String BY_LISTED_NODE = "by-listed-node";
  private static final Duration RELAY_CONFLICT_RECHECK = Duration.ofSeconds(30);

  private final ForwardPolicy settingsPolicy;
  private final ApiServerAddresses apiServer;
  private volatile ForwardPolicy policy;
  private final TransitionEvents events;
  private final Clock clock;
  private final OperatorConfig.Relays relaySettings;

  private InformerEventSource<Service, PortForward> services;
  private InformerEventSource<EndpointSlice, PortForward> endpointSlices;
  private InformerEventSource<Pod, PortForward> pods;
  private InformerEventSource<PortForward, PortForward> claims;
  private InformerEventSource<Node, PortForward> nodes;
  private InformerEventSource<PortForwardNodeReport, PortForward> reports;
  private TargetResolver resolver;
  private RelayObjects relays;

  PortForwardReconciler(OperatorConfig config, KubernetesClient client, ApiServerAddresses apiServer) {
    // Built here, so that bad settings stop the operator at start-up.
    this.settingsPolicy = ForwardPolicy.from(config.policy());
    this.apiServer = apiServer;
    this.events = new TransitionEvents(client);
    this.clock = Clock.systemUTC();
    this.relaySettings = config.relay();
  }

  @Override
  public List<EventSource<?, PortForward>> prepareEventSources(EventSourceContext<PortForward> context) {
    IndexerResourceCache<PortForward> primaries = context.getPrimaryCache();
    primaries.addIndexers(
        Map.of(
            BY_SERVICE, pf -> targets(pf).filter(t -> t.getService() != null)
                .map(t -> key(pf.getMetadata().getNamespace(), t.getService().getName()))
                .distinct().toList(),
            BY_PODS_NAMESPACE, pf -> targets(pf).anyMatch(t -> t.getPods() != null) || SidecarSelection.isSidecar(pf)
                ? List.of(pf.getMetadata().getNamespace()) : List.of(),
            BY_LISTED_NODE, pf -> pf.getStatus() == null ? List.of()
                : pf.getStatus().getNodes().stream().map(NodeState::getName).toList()));

    services = informer(context, Service.class, "services",
        svc -> ids(primaries.byIndex(BY_SERVICE, key(svc.getMetadata().getNamespace(), svc.getMetadata().getName()))));
    endpointSlices = informer(context, EndpointSlice.class, "endpointslices",
        slice -> Optional.ofNullable(slice.getMetadata().getLabels()).map(l -> l.get(SERVICE_NAME_LABEL))
            .map(svc -> ids(primaries.byIndex(BY_SERVICE, key(slice.getMetadata().getNamespace(), svc))))
            .orElse(Set.of()));
    pods = informer(context, Pod.class, "pods",
        pod -> ids(primaries.byIndex(BY_PODS_NAMESPACE, pod.getMetadata().getNamespace())));
    // A change to any PortForward can move the ownership of its port (or of the port it left), so
    // it wakes the others on the same port and every current loser.
    claims = informer(context, PortForward.class, "claims", pf -> {
      Set<ResourceID> affected = new HashSet<>(ids(claims.byIndex(BY_CLAIM, PortClaims.key(pf))));
      affected.addAll(ids(claims.byIndex(LOSING_CLAIM, LOSING_CLAIM)));
      return affected;
    });
    claims.addIndexers(Map.of(
        BY_CLAIM, pf -> List.of(PortClaims.key(pf)),
        LOSING_CLAIM, pf -> isLosingClaim(pf) ? List.of(LOSING_CLAIM) : List.of()));

    // Node labels decide which nodes a forward selects; status heartbeats must not wake anyone.
    nodes = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Node.class, PortForward.class)
            .withName("nodes")
            .withSecondaryToPrimaryMapper(node -> ids(primaries.list().toList()))
            .withOnUpdateFilter((before, after) ->
                !Objects.equals(before.getMetadata().getLabels(), after.getMetadata().getLabels()))
            .build(),
        context);
    // A report wakes the forwards it lists and those whose status lists its node (one it dropped).
    // A report that only renews its sync time wakes nobody.
    reports = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(PortForwardNodeReport.class, PortForward.class)
            .withName("node-reports")
            .withSecondaryToPrimaryMapper(report -> {
              Set<ResourceID> affected = new HashSet<>(ids(primaries.byIndex(BY_LISTED_NODE, report.getMetadata().getName())));
              if (report.getStatus() != null) {
                report.getStatus().getForwards().forEach(f -> affected.add(new ResourceID(f.getName(), f.getNamespace())));
              }
              return affected;
            })
            .withOnUpdateFilter((before, after) -> !sameExceptSyncTime(before, after))
            .build(),
        context);

    resolver = new TargetResolver(new InformerClusterView(services, endpointSlices, pods), InetAddress::getAllByName);
    relays = new RelayObjects(context);
    List<EventSource<?, PortForward>> sources = new ArrayList<>(List.of(services, endpointSlices, pods, claims, nodes, reports));
    sources.addAll(relays.eventSources());
    return sources;
  }

  @Override
  public UpdateControl<PortForward> reconcile(PortForward pf, Context<PortForward> context) {
    Judgement judgement = judge(pf);
    // The operator adopts nothing: a relay object someone else made under the forward's names
    // refuses the forward. That object is not watched (the informers see only the operator's own
    // objects), so the forward is looked at again until it is gone.
    Optional<Refusal> relayConflict = judgement.relays().flatMap(wanted ->
        relays.reconcile(pf, wanted, context.getClient(), context.getControllerConfiguration().fieldManager()));
    Verdict verdict = relayConflict
        .map(conflict -> blocked(Check.fail(conflict.reason(), conflict.message()), judgement.verdict().resolvedRefs(),
            pf.getSpec(), Reason.NOT_ACCEPTED, "the forward is not accepted"))
        .orElse(judgement.verdict());
    UpdateControl<PortForward> done = relayConflict.isPresent()
        ? UpdateControl.<PortForward>noUpdate().rescheduleAfter(RELAY_CONFLICT_RECHECK) : UpdateControl.noUpdate();
    Instant now = clock.instant();
    PortForwardStatus next = StatusAggregator.next(pf, verdict, now);
    if (StatusAggregator.unchanged(pf.getStatus(), next)) {
      return done;
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
    return done;
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
    Check error = Check.fail(Reason.RECONCILE_ERROR,
        "the operator failed to evaluate this forward and will retry: " + e.getClass().getSimpleName());
    Verdict verdict = new Verdict(error, error, error, error, targetSummary(pf.getSpec()), List.of(), List.of(),
        pf.getSpec().getGateway() == null ? Optional.empty() : Optional.of(error), List.of());
    PortForwardStatus next = StatusAggregator.next(pf, verdict, clock.instant());
    if (StatusAggregator.unchanged(pf.getStatus(), next)) {
      return ErrorStatusUpdateControl.defaultErrorProcessing();
    }
    events.record(pf, pf.getStatus(), next, clock.instant());
    pf.setStatus(next);
    return ErrorStatusUpdateControl.patchStatus(pf);
  }

  @Override
  public DeleteControl cleanup(PortForward pf, Context<PortForward> context) {
    // Relay objects go with the PortForward (owner references); the finalizer guarantees that the
    // data plane sees the deletion before the object is gone.
    relays.forget(pf);
    return DeleteControl.defaultDelete();
  }

  /**
   * The verdict, and the relay objects the forward should have: empty to leave them as they are
   * (a target that does not resolve for a moment must not take the relays down).
   */
  record Judgement(Verdict verdict, Optional<List<HasMetadata>> relays) {}

  Judgement judge(PortForward pf) {
    PortForwardSpec spec = pf.getSpec();
    String namespace = pf.getMetadata().getNamespace();
    ForwardPolicy policy = policy();

    Optional<Refusal> refusal = policy.check(spec);
    List<Resolution> resolutions = new ArrayList<>();
    List<Target> targets = targets(pf).toList();
    for (Target target : targets) {
      resolutions.add(resolver.resolve(namespace, target, spec.getProtocol()));
    }
    if (refusal.isEmpty()) {
      refusal = deniedBackend(policy, targets, resolutions);
    }
    if (refusal.isEmpty() && SidecarSelection.isSidecar(pf)) {
      // A Service's targetPort is known only here, with the Service.
      refusal = SidecarSelection.privilegedServicePort(pf, name -> services.get(new ResourceID(name, namespace)))
          .map(message -> new Refusal(Reason.UNSUPPORTED_VALUE, message));
    }
    if (refusal.isEmpty() && SidecarSelection.isSidecar(pf)) {
      // Two Sidecar forwards on one pod port: the later is refused (the webhook injects the earlier).
      refusal = SidecarConflicts.of(pf, claims.list(namespace).toList(), pods.list(namespace).toList(),
              name -> services.get(new ResourceID(name, namespace)))
          .map(conflict -> new Refusal(Reason.PORT_CONFLICT, conflict.message()));
    }
    Check accepted = refusal
        .map(r -> Check.fail(r.reason(), r.message()))
        .orElseGet(() -> portOwnership(pf, policy));
    Check resolvedRefs = resolvedRefs(targets, resolutions);
    if (!accepted.ok()) {
      return new Judgement(blocked(accepted, resolvedRefs, spec, Reason.NOT_ACCEPTED, "the forward is not accepted"),
          Optional.of(List.of()));
    }
    if (!resolvedRefs.ok()) {
      return new Judgement(blocked(accepted, resolvedRefs, spec, Reason.REFS_NOT_RESOLVED, "the target is not resolved"),
          Optional.empty());
    }
    RelayPlan relayPlan = RelayPlans.plan(pf, targetService(pf),
        resolutions.isEmpty() ? List.of() : resolutions.get(0).backends(), relaySettings, policy.deniedDestinations());
    if (relayPlan.problem().isPresent()) {
      // Not a passing state (a headless Service, a named targetPort): no relay for it.
      return new Judgement(blocked(accepted, relayPlan.problem().get(), spec, Reason.REFS_NOT_RESOLVED,
          "the target is not resolved"), Optional.of(List.of()));
    }
    DataPlaneState plane = NodeReports.aggregate(pf, nodes.list().toList(), node -> reports.get(new ResourceID(node)));
    Check programmed = plane.programmed();
    if (SidecarSelection.isSidecar(pf)) {
      programmed = alsoNeeds(programmed, SidecarEvidence.check(pf, pods.list(namespace).toList(),
          name -> services.get(new ResourceID(name, namespace))));
    }
    if (relayMode(spec) == RelayMode.Deployment || relayMode(spec) == RelayMode.Socks5) {
      programmed = alsoNeeds(programmed, relays.deploymentReady(pf, relaySettings.replicas()));
    }
    long readyBackends = resolutions.isEmpty() ? 0 : resolutions.get(0).readyBackends();
    Check ready;
    if (!programmed.ok()) {
      ready = Check.fail(Reason.NOT_PROGRAMMED, "not ready: " + programmed.message());
    } else if (readyBackends == 0 && !targets.isEmpty()) {
      ready = Check.fail(Reason.NO_READY_BACKENDS, "programmed, but the target has no ready backend");
    } else {
      ready = Check.ok(Reason.READY, "traffic can flow: " + programmed.message()
          + (targets.isEmpty() ? "" : ", " + readyBackends + " ready backend(s)"));
    }
    return new Judgement(
        new Verdict(accepted, resolvedRefs, programmed, ready, targetSummary(spec), plane.nodes(), plane.endpoints(),
            plane.gatewayMapped(), plane.externalEndpoints()),
        Optional.of(relayPlan.objects()));
  }

  /** Programmed needs both halves: the node rules, and the relays (pods or sidecars) they lead to. */
  private static Check alsoNeeds(Check nodes, Check relays) {
    if (!relays.ok()) {
      return Check.fail(relays.reason(), relays.message() + (nodes.ok() ? "" : "; " + nodes.message()));
    }
    return nodes.ok() ? Check.ok(nodes.reason(), nodes.message() + ", " + relays.message()) : nodes;
  }

  private static RelayMode relayMode(PortForwardSpec spec) {
    return spec.getRelay() == null ? RelayMode.None : spec.getRelay().getMode();
  }

  private Optional<Service> targetService(PortForward pf) {
    Target target = pf.getSpec().getTarget();
    return target == null || target.getService() == null ? Optional.empty()
        : services.get(new ResourceID(target.getService().getName(), pf.getMetadata().getNamespace()));
  }

  /** Accepted, unless another PortForward holds the port. */
  private Check portOwnership(PortForward pf, ForwardPolicy policy) {
    String port = PortClaims.key(pf);
    return PortClaims.blocker(pf, claims.byIndex(BY_CLAIM, port), policy)
        .map(owner -> Check.fail(Reason.PORT_CONFLICT,
            "port " + port + " is already claimed by PortForward " + owner.getMetadata().getNamespace() + "/"
                + owner.getMetadata().getName() + " (created " + owner.getMetadata().getCreationTimestamp()
                + "); a port stays with the forward that holds it, else goes to the oldest claimant; pick another"
                + " listen.port, listen.addresses or listen.nodeSelector"))
        .orElse(Check.ok(Reason.ACCEPTED, "the forward is valid and allowed, and owns port " + port));
  }

  /** Programmed and Ready, when an earlier condition already says why nothing can be programmed. */
  private static Verdict blocked(Check accepted, Check resolvedRefs, PortForwardSpec spec, String reason, String why) {
    return new Verdict(accepted, resolvedRefs,
        Check.fail(reason, "not programmed: " + why), Check.fail(reason, "not ready: " + why),
        targetSummary(spec), List.of(), List.of(),
        spec.getGateway() == null ? Optional.empty() : Optional.of(Check.fail(Reason.PENDING, "not mapped: " + why)),
        List.of());
  }

  /** The settings' policy, also denying the API server, whose addresses need the API to find. */
  private ForwardPolicy policy() {
    ForwardPolicy known = policy;
    if (known == null) {
      known = settingsPolicy.denyingApiServer(apiServer.get());
      policy = known;
    }
    return known;
  }

  private static Optional<Refusal> deniedBackend(
      ForwardPolicy policy, List<Target> targets, List<Resolution> resolutions) {
    for (int i = 0; i < targets.size(); i++) {
      Target target = targets.get(i);
      String what = "target " + TargetResolver.describe(target);
      for (Backend backend : resolutions.get(i).backends()) {
        Optional<Refusal> refusal = target.getExternal() != null
            ? policy.checkExternalAddress(backend.address(), what)
            : policy.checkAddress(backend.address(), what);
        if (refusal.isPresent()) {
          return refusal;
        }
      }
    }
    return Optional.empty();
  }

  private static Check resolvedRefs(List<Target> targets, List<Resolution> resolutions) {
    if (targets.isEmpty()) {
      return Check.ok(Reason.RESOLVED_REFS, "SOCKS5 destinations are chosen per connection");
    }
    for (int i = 0; i < targets.size(); i++) {
      Resolution r = resolutions.get(i);
      if (!r.resolved()) {
        String where = i == 0 ? "" : "routes[" + (i - 1) + "].target: ";
        return Check.fail(r.reason(), where + r.message());
      }
    }
    return Check.ok(Reason.RESOLVED_REFS, resolutions.stream().map(Resolution::message).collect(Collectors.joining("; ")));
  }

  private static String targetSummary(PortForwardSpec spec) {
    if (spec.getTarget() == null) {
      return "socks5";
    }
    String summary = TargetResolver.describe(spec.getTarget());
    int routes = spec.getRoutes() == null ? 0 : spec.getRoutes().size();
    return routes == 0 ? summary : summary + " (+" + routes + " route" + (routes > 1 ? "s" : "") + ")";
  }

  private static Stream<Target> targets(PortForward pf) {
    return ForwardPolicy.targets(pf.getSpec());
  }

  private static boolean sameExceptSyncTime(PortForwardNodeReport a, PortForwardNodeReport b) {
    if (a.getStatus() == null || b.getStatus() == null) {
      return a.getStatus() == b.getStatus();
    }
    return a.getStatus().isProgrammed() == b.getStatus().isProgrammed()
        && Objects.equals(a.getStatus().getMessage(), b.getStatus().getMessage())
        && StatusAggregator.sameJson(a.getStatus().getForwards(), b.getStatus().getForwards());
  }

  private static boolean isLosingClaim(PortForward pf) {
    return pf.getStatus() != null
        && StatusAggregator.find(pf.getStatus().getConditions(), Conditions.ACCEPTED)
            .filter(c -> Reason.PORT_CONFLICT.equals(c.getReason()))
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
            .withSecondaryToPrimaryMapper(mapper)
            .build(),
        context);
  }
}
