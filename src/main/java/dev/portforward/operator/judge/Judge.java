package dev.portforward.operator.judge;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.NodeSelection;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.OperatorConfig;
import dev.portforward.operator.dataplane.DataPlaneState;
import dev.portforward.operator.dataplane.NodeReports;
import dev.portforward.operator.gatewayapi.GatewayApi;
import dev.portforward.operator.policy.ForwardLimit;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.policy.PortClaims;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.operator.policy.ReservedPorts;
import dev.portforward.operator.relays.RelayPlans;
import dev.portforward.operator.relays.RelayPlans.RelayPlan;
import dev.portforward.operator.sidecar.SidecarConflicts;
import dev.portforward.operator.sidecar.SidecarEvidence;
import dev.portforward.operator.sidecar.SidecarSelection;
import dev.portforward.operator.status.Check;
import dev.portforward.operator.status.Verdict;
import dev.portforward.operator.target.Backend;
import dev.portforward.operator.target.Resolution;
import dev.portforward.operator.target.TargetResolver;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Service;
import io.netty.util.NetUtil;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Decides what a PortForward's status says and which relay objects it gets: is it allowed and
 * without conflict (Accepted), does its target exist (ResolvedRefs), is it in place on the nodes
 * (Programmed), can traffic flow (Ready). Pure: everything it looks at comes from the {@link
 * Snapshot}, so every path (each attack a tenant might try included) is a unit test.
 */
public final class Judge {

  private final OperatorConfig.Relays relaySettings;
  private final ReservedPorts reservedPorts;
  private final boolean controlPlaneNodes;

  /**
   * {@code reservedPorts}: the cluster-wide set, which no namespace's policy can release;
   * {@code controlPlaneNodes}: whether control-plane nodes carry forwards, as the agents decide.
   */
  public Judge(OperatorConfig.Relays relaySettings, ReservedPorts reservedPorts, boolean controlPlaneNodes) {
    this.relaySettings = relaySettings;
    this.reservedPorts = reservedPorts;
    this.controlPlaneNodes = controlPlaneNodes;
  }

  public Judgement judge(PortForward pf, Snapshot snapshot) {
    PortForwardSpec spec = pf.getSpec();
    String namespace = pf.getMetadata().getNamespace();
    List<Node> nodes = snapshot.nodes();
    ForwardPolicy policy = effectivePolicy(namespace, snapshot, nodes);
    ReservedPorts reserved = reservedPorts.withApiServer(snapshot.apiServer());

    Optional<Refusal> refusal = reserved.check(spec.getProtocol(), spec.getListen().getPort())
        .or(() -> policy.check(spec));
    TargetResolver resolver = new TargetResolver(snapshot, snapshot::lookup);
    List<Target> targets = ForwardPolicy.targets(spec).toList();
    List<Resolution> resolutions = targets.stream().map(t -> resolver.resolve(namespace, t, spec.getProtocol())).toList();
    if (refusal.isEmpty()) {
      refusal = weightedSidecar(spec);
    }
    if (refusal.isEmpty()) {
      refusal = deniedBackend(policy, targets, resolutions);
    }
    if (refusal.isEmpty() && SidecarSelection.isSidecar(pf)) {
      // A Service's targetPort is known only here, with the Service.
      refusal = SidecarSelection.privilegedServicePort(pf, name -> snapshot.service(namespace, name))
          .map(message -> new Refusal(Reason.UNSUPPORTED_VALUE, message));
    }
    if (refusal.isEmpty() && SidecarSelection.isSidecar(pf)) {
      // Two Sidecar forwards on one pod port: the later is refused (the webhook injects the earlier).
      refusal = SidecarConflicts.of(pf, snapshot.forwards(namespace), snapshot.pods(namespace),
              name -> snapshot.service(namespace, name))
          .map(conflict -> new Refusal(Reason.PORT_CONFLICT, conflict.message()));
    }
    if (refusal.isEmpty()) {
      refusal = ForwardLimit.check(pf, () -> snapshot.forwards(namespace), policy, specAllowed(reserved, policy));
    }
    Check accepted = refusal
        .map(r -> Check.fail(r.reason(), r.message()))
        .orElseGet(() -> portOwnership(pf, reserved, snapshot, nodes));
    Check resolvedRefs = resolvedRefs(targets, resolutions);
    if (!accepted.ok()) {
      return new Judgement(blocked(accepted, resolvedRefs, spec, Reason.NOT_ACCEPTED, "the forward is not accepted",
          policy.name()),
          Optional.of(List.of()));
    }
    if (!resolvedRefs.ok()) {
      return new Judgement(blocked(accepted, resolvedRefs, spec, Reason.REFS_NOT_RESOLVED, "the target is not resolved",
          policy.name()),
          Optional.empty());
    }
    RelayPlan relayPlan = RelayPlans.plan(pf, targetService(pf, snapshot), serviceShares(pf, snapshot, resolver),
        resolutions.isEmpty() ? List.of() : resolutions.get(0).backends(), relaySettings, policy.deniedDestinations(),
        carrierAddresses(spec, nodes));
    if (relayPlan.problem().isPresent()) {
      // Not a passing state (a headless Service, a named targetPort): no relay for it.
      return new Judgement(blocked(accepted, relayPlan.problem().get(), spec, Reason.REFS_NOT_RESOLVED,
          "the target is not resolved", policy.name()), Optional.of(List.of()));
    }
    DataPlaneState plane = NodeReports.aggregate(pf, nodes, snapshot::report, controlPlaneNodes);
    Check programmed = plane.programmed();
    if (SidecarSelection.isSidecar(pf)) {
      programmed = alsoNeeds(programmed, SidecarEvidence.check(pf, snapshot.pods(namespace),
          name -> snapshot.service(namespace, name)));
    }
    if (relayMode(spec) == RelayMode.Deployment || relayMode(spec) == RelayMode.Socks5) {
      programmed = alsoNeeds(programmed, RelayPlans.deploymentReady(pf,
          snapshot.relayDeployment(namespace, RelayNames.deployment(pf)), relaySettings.replicas()));
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
            plane.gatewayMapped(), plane.externalEndpoints(), policy.name()),
        Optional.of(relayPlan.objects()));
  }

  /**
   * The verdict once applying the judged relay objects found one in the way that the operator did
   * not create: the forward is refused, as with any other conflict over a name.
   */
  public static Verdict refused(PortForward pf, Refusal refusal, Verdict judged) {
    return blocked(Check.fail(refusal.reason(), refusal.message()), judged.resolvedRefs(), pf.getSpec(),
        Reason.NOT_ACCEPTED, "the forward is not accepted", judged.policy());
  }

  /** Every condition False: the operator could not evaluate the forward and will try again. */
  public static Verdict error(PortForward pf, Exception e) {
    Check error = Check.fail(Reason.RECONCILE_ERROR,
        "the operator failed to evaluate this forward and will retry: " + e.getClass().getSimpleName());
    return new Verdict(error, error, error, error, targetSummary(pf.getSpec()), List.of(), List.of(),
        pf.getSpec().getGateway() == null ? Optional.empty() : Optional.of(error), List.of(),
        pf.getStatus() == null ? null : pf.getStatus().getPolicy());
  }

  /** The namespace's policy with the cluster's own facts added: the API server and the nodes. */
  private static ForwardPolicy effectivePolicy(String namespace, Snapshot snapshot, List<Node> nodes) {
    return snapshot.policy(namespace).denyingApiServer(snapshot.apiServer().addresses()).denyingNodes(nodes);
  }

  /** Accepted, unless another PortForward holds the port. */
  private static Check portOwnership(PortForward pf, ReservedPorts reserved, Snapshot snapshot, List<Node> nodes) {
    String port = PortClaims.key(pf);
    // Each claimant is judged by its own namespace's policy: one the policy refuses, or its
    // namespace's forward limit leaves out, claims nothing.
    Map<String, ForwardPolicy> policies = new HashMap<>();
    return PortClaims.blocker(pf, snapshot.claimants(port), c -> {
          String namespace = c.getMetadata().getNamespace();
          ForwardPolicy policy = policies.computeIfAbsent(namespace, ns -> effectivePolicy(ns, snapshot, nodes));
          Predicate<PortForward> allowed = specAllowed(reserved, policy);
          return allowed.test(c)
              && ForwardLimit.check(c, () -> snapshot.forwards(namespace), policy, allowed).isEmpty();
        })
        .map(owner -> Check.fail(Reason.PORT_CONFLICT,
            "port " + port + " is already claimed by " + holder(owner) + " (created " + owner.getMetadata().getCreationTimestamp()
                + "); a port stays with the forward that holds it, else goes to the oldest claimant; pick another"
                + " listen.port, listen.addresses or listen.nodeSelector"))
        .orElse(Check.ok(Reason.ACCEPTED, "the forward is valid and allowed, and owns port " + port));
  }

  /**
   * A port's holder as its loser reads it: a Gateway listener's derived forward (controller owner a
   * Gateway, listener label set by the Gateway controller) names the Gateway and listener, and
   * always the PortForward itself.
   */
  private static String holder(PortForward owner) {
    String namespace = owner.getMetadata().getNamespace();
    String forward = "PortForward " + namespace + "/" + owner.getMetadata().getName();
    Optional<String> gateway = Optional.ofNullable(owner.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
        .filter(o -> Boolean.TRUE.equals(o.getController()) && GatewayApi.GATEWAY.equals(o.getKind())
            && o.getApiVersion() != null && o.getApiVersion().startsWith(GatewayApi.GROUP + "/"))
        .map(o -> o.getName())
        .findFirst();
    String listener = Optional.ofNullable(owner.getMetadata().getLabels()).map(l -> l.get(GatewayApi.LISTENER_LABEL))
        .orElse(null);
    return gateway.isPresent() && listener != null
        ? "Gateway " + namespace + "/" + gateway.get() + " listener " + listener + " (" + forward + ")"
        : forward;
  }

  /** Whether a forward's spec alone passes: not on a reserved port, and allowed by its policy. */
  private static Predicate<PortForward> specAllowed(ReservedPorts reserved, ForwardPolicy policy) {
    return c -> reserved.check(c.getSpec().getProtocol(), c.getSpec().getListen().getPort()).isEmpty()
        && policy.check(c.getSpec()).isEmpty();
  }

  /** Programmed needs both halves: the node rules, and the relays (pods or sidecars) they lead to. */
  private static Check alsoNeeds(Check nodes, Check relays) {
    if (!relays.ok()) {
      return Check.fail(relays.reason(), relays.message() + (nodes.ok() ? "" : "; " + nodes.message()));
    }
    return nodes.ok() ? Check.ok(nodes.reason(), nodes.message() + ", " + relays.message()) : nodes;
  }

  /**
   * The InternalIP/ExternalIP addresses of the nodes that carry the forward (as the agents select
   * themselves), sorted: a relay config that changes only when they do.
   */
  private List<String> carrierAddresses(PortForwardSpec spec, List<Node> nodes) {
    Map<String, String> selector = Optional.ofNullable(spec.getListen().getNodeSelector()).orElse(Map.of());
    return nodes.stream()
        .filter(node -> NodeSelection.selects(selector, node, controlPlaneNodes))
        .flatMap(node -> Optional.ofNullable(node.getStatus()).map(s -> s.getAddresses()).orElse(List.of()).stream())
        .filter(a -> "InternalIP".equals(a.getType()) || "ExternalIP".equals(a.getType()))
        .map(a -> a.getAddress())
        .filter(a -> a != null && NetUtil.createInetAddressFromIpAddressString(a) != null)
        .map(a -> NetUtil.toAddressString(NetUtil.createInetAddressFromIpAddressString(a)))
        .distinct()
        .sorted()
        .toList();
  }

  private static RelayMode relayMode(PortForwardSpec spec) {
    return spec.getRelay() == null ? RelayMode.None : spec.getRelay().getMode();
  }

  /**
   * A sidecar sits next to the pods of one target; which pods a weighted list would put it next
   * to, and by which weight the agent would spread over them, has no answer yet.
   */
  private static Optional<Refusal> weightedSidecar(PortForwardSpec spec) {
    if (spec.getTarget() == null || spec.getTarget().getServices() == null || relayMode(spec) != RelayMode.Sidecar) {
      return Optional.empty();
    }
    return Optional.of(new Refusal(Reason.WEIGHTED_SERVICES_WITH_SIDECAR, "target.services needs relay.mode None or"
        + " Deployment: a sidecar runs next to the pods of one target; use a single target.service with relay.mode"
        + " Sidecar"));
  }

  /** target.services of a relay Deployment: each Service as found, with its ready endpoints. */
  private static List<RelayPlans.ServiceShare> serviceShares(PortForward pf, Snapshot snapshot,
      TargetResolver resolver) {
    Target target = pf.getSpec().getTarget();
    if (target == null || target.getServices() == null || relayMode(pf.getSpec()) != RelayMode.Deployment) {
      return List.of();
    }
    String namespace = pf.getMetadata().getNamespace();
    return target.getServices().stream().map(weighted -> {
      ServiceTarget one = new ServiceTarget();
      one.setName(weighted.getName());
      one.setPort(weighted.getPort());
      Target single = new Target();
      single.setService(one);
      return new RelayPlans.ServiceShare(weighted, snapshot.service(namespace, weighted.getName()),
          resolver.resolve(namespace, single, pf.getSpec().getProtocol()).readyBackends());
    }).toList();
  }

  private static Optional<Service> targetService(PortForward pf, Snapshot snapshot) {
    Target target = pf.getSpec().getTarget();
    return target == null || target.getService() == null ? Optional.empty()
        : snapshot.service(pf.getMetadata().getNamespace(), target.getService().getName());
  }

  /** Programmed and Ready, when an earlier condition already says why nothing can be programmed. */
  private static Verdict blocked(
      Check accepted, Check resolvedRefs, PortForwardSpec spec, String reason, String why, String policy) {
    return new Verdict(accepted, resolvedRefs,
        Check.fail(reason, "not programmed: " + why), Check.fail(reason, "not ready: " + why),
        targetSummary(spec), List.of(), List.of(),
        spec.getGateway() == null ? Optional.empty() : Optional.of(Check.fail(Reason.PENDING, "not mapped: " + why)),
        List.of(), policy);
  }

  private static Optional<Refusal> deniedBackend(
      ForwardPolicy policy, List<Target> targets, List<Resolution> resolutions) {
    for (int i = 0; i < targets.size(); i++) {
      Target target = targets.get(i);
      String what = "target " + TargetResolver.describe(target);
      for (Backend backend : resolutions.get(i).backends()) {
        Optional<Refusal> refusal = target.getExternal() != null
            ? policy.checkExternalAddress(target.getExternal().getHost(), backend.address(), what)
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
}
