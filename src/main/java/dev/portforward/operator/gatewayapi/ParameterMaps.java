package dev.portforward.operator.gatewayapi;

import dev.portforward.common.WithoutManagedFields;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.SecondaryToPrimaryMapper;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.k8s.networking.gateway.v1.GatewayClass;
import io.k8s.networking.gateway.v1.gatewayclassspec.ParametersRef;

/**
 * The ConfigMaps that hold GatewayClass parameters, as both Gateway API controllers see them: a
 * watch of the ConfigMaps labelled {@value GatewayParameters#LABEL} only (few and small; without
 * managedFields, as the operator's other caches), and a class's parameters read through it.
 */
final class ParameterMaps {

  private ParameterMaps() {}

  static <P extends HasMetadata> InformerEventSource<ConfigMap, P> informer(EventSourceContext<P> context,
      Class<P> primary, SecondaryToPrimaryMapper<ConfigMap> mapper) {
    return new InformerEventSource<>(
        InformerEventSourceConfiguration.from(ConfigMap.class, primary)
            .withName("gatewayclass-parameters")
            .withLabelSelector(GatewayParameters.LABEL)
            .withItemStore(new WithoutManagedFields<>())
            .withSecondaryToPrimaryMapper(mapper)
            .build(),
        context);
  }

  static GatewayParameters.Parsed parameters(GatewayClass gatewayClass, InformerEventSource<ConfigMap, ?> configMaps) {
    return GatewayParameters.of(gatewayClass.getSpec().getParametersRef(),
        (namespace, name) -> configMaps.get(new ResourceID(name, namespace)));
  }

  /** Whether the class's parametersRef names this ConfigMap. */
  static boolean names(GatewayClass gatewayClass, ConfigMap configMap) {
    ParametersRef ref = gatewayClass.getSpec() == null ? null : gatewayClass.getSpec().getParametersRef();
    return ref != null && "ConfigMap".equals(ref.getKind())
        && configMap.getMetadata().getNamespace().equals(ref.getNamespace())
        && configMap.getMetadata().getName().equals(ref.getName());
  }
}
