package dev.portforward.operator.dataplane;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.portforward.api.v1alpha1.PortForward;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Puts a PortForward's {@link BackendSlices} in place: a slice is applied (server-side) only when
 * what it says differs from what the cache holds, and the forward's slices no longer wanted are
 * deleted. A slice under a wanted name that the forward does not own is neither written nor
 * deleted: the operator adopts nothing.
 */
public final class SlicePublisher {

  private static final Logger LOG = Logger.getLogger(SlicePublisher.class);
  private static final ObjectMapper JSON = Serialization.jsonMapper();

  private SlicePublisher() {}

  /**
   * @param existing the slices of the forward's namespace the cache holds under the forward's
   *     label or under a wanted name
   */
  public static void publish(PortForward pf, List<EndpointSlice> desired, List<EndpointSlice> existing,
      KubernetesClient client, String fieldManager) {
    Map<String, EndpointSlice> byName = existing.stream()
        .collect(Collectors.toMap(s -> s.getMetadata().getName(), Function.identity(), (a, b) -> a));
    PatchContext apply = new PatchContext.Builder()
        .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(fieldManager).withForce(true).build();
    for (EndpointSlice slice : desired) {
      EndpointSlice found = byName.get(slice.getMetadata().getName());
      if (found != null && !ownedBy(found, pf)) {
        LOG.warnf("PortForward %s/%s: EndpointSlice %s is not the forward's own; it is left alone and its"
            + " backends are not published", pf.getMetadata().getNamespace(), pf.getMetadata().getName(),
            slice.getMetadata().getName());
        continue;
      }
      if (found == null || !content(found).equals(content(slice))) {
        client.resource(slice).patch(apply);
      }
    }
    List<String> wanted = desired.stream().map(s -> s.getMetadata().getName()).toList();
    for (EndpointSlice slice : existing) {
      if (ownedBy(slice, pf) && !wanted.contains(slice.getMetadata().getName())) {
        client.resource(slice).delete();
      }
    }
  }

  /** Whether the forward controls the slice (its owner reference, by uid). */
  static boolean ownedBy(EndpointSlice slice, PortForward pf) {
    return Optional.ofNullable(slice.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
        .anyMatch(o -> Boolean.TRUE.equals(o.getController()) && Objects.equals(o.getUid(), pf.getMetadata().getUid()));
  }

  /** What a slice says, without what the API server adds (resourceVersion, managedFields, ...). */
  private static JsonNode content(EndpointSlice slice) {
    return JSON.valueToTree(Map.of(
        "labels", Optional.ofNullable(slice.getMetadata().getLabels()).orElse(Map.of()),
        "owners", Optional.ofNullable(slice.getMetadata().getOwnerReferences()).orElse(List.of()),
        "addressType", Objects.requireNonNullElse(slice.getAddressType(), ""),
        "ports", Optional.ofNullable(slice.getPorts()).orElse(List.of()),
        "endpoints", Optional.ofNullable(slice.getEndpoints()).orElse(List.of())));
  }
}
