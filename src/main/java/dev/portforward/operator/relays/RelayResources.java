package dev.portforward.operator.relays;

import dev.portforward.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The requests and limits of relay containers (relay pods and injected sidecars), from the
 * operator's settings. A quantity Kubernetes would refuse fails here, at start-up, naming the
 * setting, rather than at every relay the operator writes. Pure.
 */
public final class RelayResources {

  private RelayResources() {}

  public static ResourceRequirements of(OperatorConfig.Relays.Resources settings) {
    Map<String, Quantity> requests = new LinkedHashMap<>();
    requests.put("cpu", quantity("requests-cpu", settings.requestsCpu()));
    requests.put("memory", quantity("requests-memory", settings.requestsMemory()));
    Map<String, Quantity> limits = new LinkedHashMap<>();
    settings.limitsCpu().ifPresent(cpu -> limits.put("cpu", quantity("limits-cpu", cpu)));
    limits.put("memory", quantity("limits-memory", settings.limitsMemory()));
    return new ResourceRequirementsBuilder().withRequests(requests).withLimits(limits).build();
  }

  private static Quantity quantity(String setting, String value) {
    try {
      Quantity quantity = new Quantity(value);
      if (Quantity.getAmountInBytes(quantity).signum() < 0) {
        throw new IllegalArgumentException("negative");
      }
      return quantity;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("portforward.relay.resources." + setting + ": '" + value
          + "' is not a Kubernetes quantity (such as 10m, 128Mi)", e);
    }
  }
}
