package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.WithoutManagedFields;
import dev.portforward.operator.gatewayapi.GatewayPlan.GatewayState;
import dev.portforward.operator.gatewayapi.GatewayPlan.ListenerState;
import dev.portforward.operator.gatewayapi.GatewayPlan.ParentStatus;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Ignore;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.SecondaryToPrimaryMapper;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.GatewayClass;
import io.k8s.networking.gateway.v1.GatewayStatus;
import io.k8s.networking.gateway.v1.ReferenceGrant;
import io.k8s.networking.gateway.v1.TCPRoute;
import io.k8s.networking.gateway.v1.UDPRoute;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Turns each Gateway of this controller's class into derived PortForwards and statuses. The
 * decision is the {@link GatewayPlanner}'s, over the informer caches; this class watches what a
 * plan depends on (class and its parameters, routes, grants, Services and their EndpointSlices,
 * namespaces, its own PortForwards) and writes the result: backend mirrors and forwards by forced
 * server-side apply (a tenant's edit is put back), the Gateway's status, and only its own entries
 * in each route's status.parents. It is also called when a Gateway is deleted (no finalizer: the
 * delete event is enough), and then takes this controller's entries for that Gateway out of its
 * routes' status; garbage collection takes the forwards and mirrors.
 */
@Ignore
@ControllerConfiguration(name = GatewayReconciler.NAME, triggerReconcilerOnAllEvents = true)
public final class GatewayReconciler implements Reconciler<Gateway> {

  static final String NAME = "gateway";

  private final Clock clock;

  private InformerEventSource<GatewayClass, Gateway> classes;
  private InformerEventSource<TCPRoute, Gateway> tcpRoutes;
  private InformerEventSource<UDPRoute, Gateway> udpRoutes;
  private InformerEventSource<ReferenceGrant, Gateway> grants;
  private InformerEventSource<Service, Gateway> services;
  private InformerEventSource<EndpointSlice, Gateway> slices;
  private InformerEventSource<Namespace, Gateway> namespaces;
  private InformerEventSource<PortForward, Gateway> forwards;
  private InformerEventSource<ConfigMap, Gateway> parameters;

  GatewayReconciler(Clock clock) {
    this.clock = clock;
  }

  @Override
  public List<EventSource<?, Gateway>> prepareEventSources(EventSourceContext<Gateway> context) {
    IndexerResourceCache<Gateway> gateways = context.getPrimaryCache();
    classes = informer(context, GatewayClass.class, "gatewayclasses",
        gc -> ids(gateways.list(g -> gc.getMetadata().getName().equals(g.getSpec().getGatewayClassName()))));
    tcpRoutes = informer(context, TCPRoute.class, "tcproutes", route -> parents(RouteView.of(route), route));
    udpRoutes = informer(context, UDPRoute.class, "udproutes", route -> parents(RouteView.of(route), route));
    // Grants change rarely and may open or close any route's backend: every Gateway looks again.
    grants = informer(context, ReferenceGrant.class, "referencegrants", grant -> ids(gateways.list()));
    SecondaryToPrimaryMapper<HasMetadata> owners = Mappers.fromOwnerReferences(Gateway.class, false);
    // A backend's change wakes the Gateways whose routes name it; a mirror's, the Gateway that owns
    // it (a tenant's edit is put back).
    services = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Service.class, Gateway.class)
            .withName("services")
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(svc -> naming(svc.getMetadata().getNamespace(), svc.getMetadata().getName(),
                owners.toPrimaryResourceIDs(svc)))
            .build(),
        context);
    // The slices of Services only (those the EndpointSlice controller and this one write): a
    // backend's endpoints for its mirror.
    slices = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(EndpointSlice.class, Gateway.class)
            .withName("endpointslices")
            .withLabelSelector(BackendMirrors.SERVICE_NAME_LABEL)
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(slice -> naming(slice.getMetadata().getNamespace(),
                slice.getMetadata().getLabels().get(BackendMirrors.SERVICE_NAME_LABEL),
                owners.toPrimaryResourceIDs(slice)))
            .build(),
        context);
    namespaces = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Namespace.class, Gateway.class)
            .withName("namespaces")
            .withSecondaryToPrimaryMapper(ns -> ids(gateways.list()))
            .withOnUpdateFilter((before, after) ->
                !Objects.equals(before.getMetadata().getLabels(), after.getMetadata().getLabels()))
            .build(),
        context);
    forwards = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(PortForward.class, Gateway.class)
            .withName("derived-portforwards")
            .withLabelSelector(GatewayApi.GATEWAY_LABEL)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(Gateway.class, false))
            .build(),
        context);
    // A class's parameters decide how its Gateways' listeners are carried.
    parameters = ParameterMaps.informer(context, Gateway.class, configMap -> {
      Set<String> naming = classes.list(gc -> ParameterMaps.names(gc, configMap))
          .map(gc -> gc.getMetadata().getName()).collect(Collectors.toSet());
      return ids(gateways.list(g -> naming.contains(g.getSpec().getGatewayClassName())));
    });
    return List.of(classes, tcpRoutes, udpRoutes, grants, services, slices, namespaces, forwards, parameters);
  }

  @Override
  public UpdateControl<Gateway> reconcile(Gateway gateway, Context<Gateway> context) {
    KubernetesClient client = context.getClient();
    Predicate<ResourceID> gatewayExists = id -> context.getPrimaryCache().get(id).isPresent();
    if (context.isPrimaryResourceDeleted()) {
      // Gone: its derived forwards go by garbage collection; its entries in route status go here.
      writeRouteStatuses(gateway, Map.of(), gatewayExists, true, clock.instant(), client);
      return UpdateControl.noUpdate();
    }
    Optional<GatewayClass> gatewayClass = classes.get(new ResourceID(gateway.getSpec().getGatewayClassName()));
    List<PortForward> owned = forwards.list(gateway.getMetadata().getNamespace(),
        pf -> ownedBy(pf, gateway)).toList();
    String namespace = gateway.getMetadata().getNamespace();
    List<Service> ownedMirrors = services.list(namespace, svc -> mirrorOf(svc, gateway)).toList();
    List<EndpointSlice> ownedSlices = slices.list(namespace, slice -> mirrorOf(slice, gateway)).toList();
    if (gatewayClass.filter(GatewayClasses::ours).isEmpty()) {
      // Not (or no longer) ours: what it had from this controller goes (forwards and route entries);
      // its own status is another's.
      owned.forEach(pf -> client.resource(pf).delete());
      ownedSlices.forEach(slice -> client.resource(slice).delete());
      ownedMirrors.forEach(svc -> client.resource(svc).delete());
      writeRouteStatuses(gateway, Map.of(), gatewayExists, false, clock.instant(), client);
      return UpdateControl.noUpdate();
    }
    List<RouteView> routes = routes().toList();
    GatewayParameters.Parsed parsed = ParameterMaps.parameters(gatewayClass.get(), parameters);
    GatewayPlan plan = GatewayPlanner.plan(new GatewayInput(gateway,
        GatewayClasses.accepted(gatewayClass.get(), parsed).status(), routes, grants.list().toList(),
        referencedServices(routes), referencedSlices(routes), namespaceLabels(routes), owned,
        parsed.parameters().orElse(GatewayParameters.NODE_DNAT), othersObjects(gateway)));

    // Mirrors before the forwards that name them; what nothing names any more after them.
    Set<String> desiredMirrors = new HashSet<>();
    Set<String> desiredSlices = new HashSet<>();
    for (BackendMirrors.Mirror mirror : plan.mirrors()) {
      client.resource(mirror.service()).patch(apply());
      mirror.slices().forEach(slice -> client.resource(slice).patch(apply()));
      desiredMirrors.add(mirror.service().getMetadata().getName());
      mirror.slices().forEach(slice -> desiredSlices.add(slice.getMetadata().getName()));
    }
    Set<String> desired = plan.forwards().stream().map(pf -> pf.getMetadata().getName()).collect(Collectors.toSet());
    for (PortForward pf : plan.forwards()) {
      client.resource(pf).patch(apply());
    }
    owned.stream().filter(pf -> !desired.contains(pf.getMetadata().getName()))
        .forEach(pf -> client.resource(pf).delete());
    ownedSlices.stream().filter(slice -> !desiredSlices.contains(slice.getMetadata().getName()))
        .forEach(slice -> client.resource(slice).delete());
    ownedMirrors.stream().filter(svc -> !desiredMirrors.contains(svc.getMetadata().getName()))
        .forEach(svc -> client.resource(svc).delete());

    Instant now = clock.instant();
    writeGatewayStatus(gateway, plan.gateway(), now, client);
    writeRouteStatuses(gateway, plan.routes(), gatewayExists, false, now, client);
    return UpdateControl.noUpdate();
  }

  /**
   * This controller's entries for {@code gateway} in every route's status.parents: {@code ours}
   * (by {@link RouteView#key()}; none for a route that is not there, and for every route once the
   * Gateway is deleted or no longer of this class). {@code deleted}: the Gateway is gone.
   */
  private void writeRouteStatuses(Gateway gateway, Map<String, List<ParentStatus>> ours,
      Predicate<ResourceID> gatewayExists, boolean deleted, Instant now, KubernetesClient client) {
    for (TCPRoute route : tcpRoutes.list().toList()) {
      RouteView view = RouteView.of(route);
      List<ParentStatus> entries = ours.getOrDefault(view.key(), List.of());
      writeRouteStatus(route, gateway, entries, gatewayExists, deleted,
          route.getStatus() == null ? null : route.getStatus().getParents(),
          parents -> {
            // A copy: the informer's cached object must not change under it.
            TCPRoute copy = StatusConditions.as(route, TCPRoute.class);
            io.k8s.networking.gateway.v1.TCPRouteStatus status = new io.k8s.networking.gateway.v1.TCPRouteStatus();
            status.setParents(parents.stream()
                .map(p -> StatusConditions.as(p, io.k8s.networking.gateway.v1.tcproutestatus.Parents.class)).toList());
            copy.setStatus(status);
            return copy;
          }, now, client);
    }
    for (UDPRoute route : udpRoutes.list().toList()) {
      RouteView view = RouteView.of(route);
      List<ParentStatus> entries = ours.getOrDefault(view.key(), List.of());
      writeRouteStatus(route, gateway, entries, gatewayExists, deleted,
          route.getStatus() == null ? null : route.getStatus().getParents(),
          parents -> {
            // A copy: the informer's cached object must not change under it.
            UDPRoute copy = StatusConditions.as(route, UDPRoute.class);
            io.k8s.networking.gateway.v1.UDPRouteStatus status = new io.k8s.networking.gateway.v1.UDPRouteStatus();
            status.setParents(parents.stream()
                .map(p -> StatusConditions.as(p, io.k8s.networking.gateway.v1.udproutestatus.Parents.class)).toList());
            copy.setStatus(status);
            return copy;
          }, now, client);
    }
  }

  /** The Services and slices of the Gateway's namespace that are not its mirrors ({@link GatewayInput}). */
  private Set<String> othersObjects(Gateway gateway) {
    String namespace = gateway.getMetadata().getNamespace();
    return Stream.concat(services.list(namespace, svc -> !mirrorOf(svc, gateway)),
            slices.list(namespace, slice -> !mirrorOf(slice, gateway)))
        .map(o -> o.getKind() + " " + o.getMetadata().getName())
        .collect(Collectors.toSet());
  }

  private void writeGatewayStatus(Gateway gateway, GatewayState state, Instant now, KubernetesClient client) {
    GatewayStatus before = gateway.getStatus();
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("addresses", state.addresses().stream().map(a -> Map.of("type", "IPAddress", "value", a)).toList());
    status.put("conditions", StatusConditions.render(state.conditions(), before == null ? null : before.getConditions(),
        now));
    List<Map<String, Object>> listeners = new ArrayList<>();
    for (ListenerState listener : state.listeners()) {
      List<?> previous = before == null || before.getListeners() == null ? null : before.getListeners().stream()
          .filter(l -> listener.name().equals(l.getName())).findFirst().map(l -> l.getConditions()).orElse(null);
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("name", listener.name());
      map.put("supportedKinds", listener.supportedKinds().stream()
          .map(k -> Map.of("group", GatewayApi.GROUP, "kind", k)).toList());
      map.put("attachedRoutes", listener.attachedRoutes());
      map.put("conditions", StatusConditions.render(listener.conditions(), previous, now));
      listeners.add(map);
    }
    status.put("listeners", listeners);
    GatewayStatus next = StatusConditions.as(status, GatewayStatus.class);
    if (before != null && StatusConditions.same(before, next)) {
      return;
    }
    Gateway patch = new Gateway();
    patch.setMetadata(new ObjectMetaBuilder().withName(gateway.getMetadata().getName())
        .withNamespace(gateway.getMetadata().getNamespace()).build());
    patch.setStatus(next);
    client.resource(patch).subresource("status").patch(apply());
  }

  /**
   * Writes a route's status.parents as {@link RouteParents#merge} says, with optimistic locking:
   * parents is not a list that server-side apply merges by key. A conflict is left to the route's
   * own event, which brings this Gateway back, unless the Gateway is deleted: then nothing would,
   * and the framework retries this reconcile.
   */
  private static <R extends HasMetadata> void writeRouteStatus(R route, Gateway gateway, List<ParentStatus> ours,
      Predicate<ResourceID> gatewayExists, boolean deleted, List<?> current,
      java.util.function.Function<List<Map<String, Object>>, R> withParents, Instant now, KubernetesClient client) {
    Optional<List<Map<String, Object>>> parents = RouteParents.merge(current, route.getMetadata().getNamespace(),
        gateway.getMetadata().getNamespace(), gateway.getMetadata().getName(), ours,
        (namespace, name) -> gatewayExists.test(new ResourceID(name, namespace)), now);
    if (parents.isEmpty()) {
      return;
    }
    try {
      client.resource(withParents.apply(parents.get())).updateStatus();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409 || deleted) {
        throw e;
      }
    }
  }

  private Stream<RouteView> routes() {
    return Stream.concat(tcpRoutes.list().map(RouteView::of), udpRoutes.list().map(RouteView::of));
  }

  private Map<String, Service> referencedServices(List<RouteView> routes) {
    Map<String, Service> found = new HashMap<>();
    routes.stream().flatMap(r -> r.backendRefs().stream()).forEach(b -> services
        .get(new ResourceID(b.name(), b.namespace()))
        .ifPresent(svc -> found.put(b.namespace() + "/" + b.name(), svc)));
    return found;
  }

  /** The slices of the backends the routes name (mirrors are built from them), by {@code "ns/name"}. */
  private Map<String, List<EndpointSlice>> referencedSlices(List<RouteView> routes) {
    Map<String, List<EndpointSlice>> found = new HashMap<>();
    routes.stream().flatMap(r -> r.backendRefs().stream()).distinct().forEach(b -> found.computeIfAbsent(
        b.namespace() + "/" + b.name(), key -> slices.list(b.namespace(),
            slice -> b.name().equals(slice.getMetadata().getLabels().get(BackendMirrors.SERVICE_NAME_LABEL))).toList()));
    return found;
  }

  /** The Gateways whose routes name the Service {@code namespace/name}, and {@code owners}. */
  private Set<ResourceID> naming(String namespace, String name, Set<ResourceID> owners) {
    Set<ResourceID> ids = routes()
        .filter(r -> r.backendRefs().stream().anyMatch(b -> b.namespace().equals(namespace) && b.name().equals(name)))
        .flatMap(r -> r.parentRefs().stream())
        .filter(p -> GatewayApi.GROUP.equals(p.group()) && GatewayApi.GATEWAY.equals(p.kind()))
        .map(p -> new ResourceID(p.name(), p.namespace()))
        .collect(Collectors.toCollection(HashSet::new));
    ids.addAll(owners);
    return ids;
  }

  /** A mirror (Service or slice) of this Gateway: its label, and its controller ownerReference by uid. */
  static boolean mirrorOf(HasMetadata object, Gateway gateway) {
    return Optional.ofNullable(object.getMetadata().getLabels()).orElse(Map.of())
        .containsKey(BackendMirrors.BACKEND_NAMESPACE_LABEL)
        && Optional.ofNullable(object.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
            .anyMatch(o -> Boolean.TRUE.equals(o.getController()) && GatewayApi.GATEWAY.equals(o.getKind())
                && gateway.getMetadata().getUid().equals(o.getUid()));
  }

  private Map<String, Map<String, String>> namespaceLabels(List<RouteView> routes) {
    Map<String, Map<String, String>> labels = new HashMap<>();
    routes.stream().map(RouteView::namespace).distinct().forEach(ns -> namespaces.get(new ResourceID(ns))
        .ifPresent(n -> labels.put(ns, Optional.ofNullable(n.getMetadata().getLabels()).orElse(Map.of()))));
    return labels;
  }

  /** The Gateways a route names, and those whose entries of this controller its status still holds. */
  private static Set<ResourceID> parents(RouteView view, HasMetadata route) {
    Set<ResourceID> ids = view.parentRefs().stream()
        .filter(p -> GatewayApi.GROUP.equals(p.group()) && GatewayApi.GATEWAY.equals(p.kind()))
        .map(p -> new ResourceID(p.name(), p.namespace()))
        .collect(Collectors.toCollection(java.util.HashSet::new));
    Object status = StatusConditions.as(route, Map.class).get("status");
    if (status instanceof Map<?, ?> map && map.get("parents") instanceof List<?> entries) {
      for (Object entry : entries) {
        if (entry instanceof Map<?, ?> e && GatewayApi.CONTROLLER_NAME.equals(e.get("controllerName"))) {
          RouteView.ParentRef ref = StatusConditions.as(e.get("parentRef"), RouteView.ParentRef.class)
              .withDefaults(route.getMetadata().getNamespace());
          ids.add(new ResourceID(ref.name(), ref.namespace()));
        }
      }
    }
    return ids;
  }

  /** Owned by this Gateway by uid: a PortForward that only carries the labels is not its. */
  static boolean ownedBy(PortForward pf, Gateway gateway) {
    return Optional.ofNullable(pf.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
        .anyMatch(o -> Boolean.TRUE.equals(o.getController()) && GatewayApi.GATEWAY.equals(o.getKind())
            && gateway.getMetadata().getUid().equals(o.getUid()));
  }

  private static PatchContext apply() {
    return new PatchContext.Builder()
        .withPatchType(PatchType.SERVER_SIDE_APPLY)
        .withFieldManager(GatewayApiControllers.FIELD_MANAGER)
        .withForce(true)
        .build();
  }

  private static Set<ResourceID> ids(Stream<Gateway> gateways) {
    return gateways.map(ResourceID::fromResource).collect(Collectors.toSet());
  }

  private static <R extends HasMetadata> InformerEventSource<R, Gateway> informer(
      EventSourceContext<Gateway> context, Class<R> type, String name, SecondaryToPrimaryMapper<R> mapper) {
    return new InformerEventSource<>(
        InformerEventSourceConfiguration.from(type, Gateway.class)
            .withName(name)
            .withSecondaryToPrimaryMapper(mapper)
            .build(),
        context);
  }
}
