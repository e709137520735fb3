package dev.portforward.operator.gatewayapi;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.k8s.networking.gateway.v1.GatewayClass;
import io.k8s.networking.gateway.v1.GatewayClassStatus;
import io.k8s.networking.gateway.v1.gatewayclassstatus.Conditions;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Ignore;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Writes Accepted and SupportedVersion on the GatewayClasses whose controllerName is this operator's; leaves every
 * other class alone. Accepted depends on the class's parameters ConfigMap, which is watched.
 * Started by {@link GatewayApiControllers} only when the Gateway API is served ({@link Ignore}:
 * not registered with the operator's main framework instance).
 */
@Ignore
@ControllerConfiguration(name = GatewayClassReconciler.NAME)
public final class GatewayClassReconciler implements Reconciler<GatewayClass> {

  static final String NAME = "gatewayclass";

  private final Clock clock;

  private InformerEventSource<ConfigMap, GatewayClass> parameters;

  GatewayClassReconciler(Clock clock) {
    this.clock = clock;
  }

  @Override
  public List<EventSource<?, GatewayClass>> prepareEventSources(EventSourceContext<GatewayClass> context) {
    IndexerResourceCache<GatewayClass> classes = context.getPrimaryCache();
    parameters = ParameterMaps.informer(context, GatewayClass.class, configMap -> classes
        .list(gc -> ParameterMaps.names(gc, configMap)).map(ResourceID::fromResource).collect(Collectors.toSet()));
    return List.of(parameters);
  }

  @Override
  public UpdateControl<GatewayClass> reconcile(GatewayClass gatewayClass, Context<GatewayClass> context) {
    if (!GatewayClasses.ours(gatewayClass)) {
      return UpdateControl.noUpdate();
    }
    List<?> before = gatewayClass.getStatus() == null ? null : gatewayClass.getStatus().getConditions();
    GatewayClassStatus status = new GatewayClassStatus();
    status.setConditions(StatusConditions.render(List.of(GatewayClasses.accepted(gatewayClass,
            ParameterMaps.parameters(gatewayClass, parameters)),
            GatewayClasses.supportedVersion(gatewayClass, bundleVersions(context))), before, clock.instant())
        .stream().map(c -> StatusConditions.as(c, Conditions.class)).toList());
    if (gatewayClass.getStatus() != null && StatusConditions.same(gatewayClass.getStatus().getConditions(),
        status.getConditions())) {
      return UpdateControl.noUpdate();
    }
    GatewayClass patch = new GatewayClass();
    patch.setMetadata(new ObjectMetaBuilder().withName(gatewayClass.getMetadata().getName()).build());
    patch.setStatus(status);
    context.getClient().resource(patch).subresource("status").patch(new PatchContext.Builder()
        .withPatchType(PatchType.SERVER_SIDE_APPLY)
        .withFieldManager(GatewayApiControllers.FIELD_MANAGER)
        .withForce(true)
        .build());
    return UpdateControl.noUpdate();
  }

  /** Each watched Gateway API CRD's bundle-version annotation, read by name (RBAC grants just these). */
  private static Map<String, Optional<String>> bundleVersions(Context<GatewayClass> context) {
    Map<String, Optional<String>> versions = new TreeMap<>();
    for (String kind : GatewayApiControllers.KINDS) {
      String name = kind + "." + GatewayApi.GROUP;
      try {
        versions.put(name, Optional.ofNullable(context.getClient().apiextensions().v1().customResourceDefinitions()
                .withName(name).get())
            .map(crd -> crd.getMetadata().getAnnotations())
            .map(annotations -> annotations.get(GatewayClasses.BUNDLE_VERSION)));
      } catch (KubernetesClientException e) {
        versions.put(name, Optional.empty());
      }
    }
    return versions;
  }
}
