package dev.portforward.operator.relays;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.operator.status.Check;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Puts a PortForward's relay objects in place with server-side apply and removes those it no
 * longer needs; informers on the three kinds wake the PortForward when one changes or goes away,
 * so a hand edit or a deletion is repaired. It touches only objects it created for that
 * PortForward: one of the same name that someone else made is reported, never taken over.
 *
 * <p>Applied from the reconciler rather than as JOSDK dependent resources in a workflow: what a
 * relay dials is the address the reconciler resolved and checked against the policy in the same
 * pass that decides the status, and a refused forward must get no relay at all. A dependent would
 * have to redo or be handed that judgement; here it is one function call.
 */
public final class RelayObjects {

  /**
   * The hash of what the operator last applied, on the object's metadata (never the pod
   * template): an object is applied again when it is missing, when what it should say changed,
   * or when it changed since this process applied it.
   */
  static final String APPLIED_HASH = "portforward.dev/applied-hash";
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final String SELECTOR = RelayWorkload.MANAGED_BY_LABEL + "=" + RelayWorkload.MANAGED_BY;

  private final InformerEventSource<ConfigMap, PortForward> configMaps;
  private final InformerEventSource<Deployment, PortForward> deployments;
  private final InformerEventSource<Service, PortForward> services;
  /**
   * The resourceVersion each object had after this process last applied it. A different one
   * means someone else changed it since (or only its status moved on): applied again, which costs
   * no write when nothing differs.
   */
  private final Map<String, String> appliedVersions = new ConcurrentHashMap<>();

  public RelayObjects(EventSourceContext<PortForward> context) {
    configMaps = informer(context, ConfigMap.class, "relay-configmaps");
    deployments = informer(context, Deployment.class, "relay-deployments");
    services = informer(context, Service.class, "relay-services");
  }

  public List<InformerEventSource<? extends HasMetadata, PortForward>> eventSources() {
    return List.of(configMaps, deployments, services);
  }

  /**
   * Applies {@code wanted} and deletes the PortForward's other relay objects. When an object under a
   * wanted name is not the PortForward's own ({@link RelayOwnership}), nothing is applied, its own
   * objects are deleted as for a refused forward, and the conflict is returned. Objects it does not
   * own are never written nor deleted.
   */
  public Optional<Refusal> reconcile(PortForward pf, List<HasMetadata> wanted, KubernetesClient client,
      String fieldManager) {
    String namespace = pf.getMetadata().getNamespace();
    List<HasMetadata> existing = new ArrayList<>(Stream.of(
            configMaps.get(new ResourceID(RelayNames.configMap(pf), namespace)),
            deployments.get(new ResourceID(RelayNames.deployment(pf), namespace)),
            services.get(new ResourceID(RelayNames.service(pf), namespace)))
        .flatMap(Optional::stream).toList());
    List<HasMetadata> inTheWay = new ArrayList<>();
    for (HasMetadata object : wanted) {
      // The informers hold labelled objects only: an unlabelled one under a wanted name is asked for.
      Optional<HasMetadata> found = existing.stream().filter(o -> o.getKind().equals(object.getKind())).findFirst()
          .or(() -> Optional.ofNullable(client.resource(object).get()));
      found.ifPresent(inTheWay::add);
    }
    Optional<Refusal> conflict = RelayOwnership.conflict(pf, inTheWay);
    List<HasMetadata> toApply = conflict.isPresent() ? List.of() : wanted;
    for (HasMetadata found : existing) {
      if (RelayOwnership.ownedBy(found, pf) && toApply.stream().noneMatch(w -> w.getKind().equals(found.getKind()))) {
        client.resource(found).delete();
        appliedVersions.remove(key(found));
      }
    }
    for (HasMetadata object : toApply) {
      String hash = hash(object);
      boolean current = existing.stream()
          .filter(o -> o.getKind().equals(object.getKind()))
          .anyMatch(o -> o.getMetadata().getAnnotations() != null
              && hash.equals(o.getMetadata().getAnnotations().get(APPLIED_HASH))
              && o.getMetadata().getResourceVersion().equals(appliedVersions.get(key(o))));
      if (!current) {
        var annotations = new HashMap<String, String>();
        annotations.put(APPLIED_HASH, hash);
        object.getMetadata().setAnnotations(annotations);
        HasMetadata applied = client.resource(object).patch(new PatchContext.Builder()
            .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(fieldManager).withForce(true).build());
        appliedVersions.put(key(applied), applied.getMetadata().getResourceVersion());
      }
    }
    return conflict;
  }

  /** Forgets a deleted PortForward's objects; the garbage collector removes them. */
  public void forget(PortForward pf) {
    String namespace = pf.getMetadata().getNamespace();
    appliedVersions.keySet().removeAll(List.of(
        key("ConfigMap", namespace, RelayNames.configMap(pf)),
        key("Deployment", namespace, RelayNames.deployment(pf)),
        key("Service", namespace, RelayNames.service(pf))));
  }

  private static String key(HasMetadata object) {
    return key(object.getKind(), object.getMetadata().getNamespace(), object.getMetadata().getName());
  }

  private static String key(String kind, String namespace, String name) {
    return kind + "/" + namespace + "/" + name;
  }

  /** A relay Deployment as the cache holds it. */
  public Optional<Deployment> deployment(String namespace, String name) {
    return deployments.get(new ResourceID(name, namespace));
  }

  private static String hash(HasMetadata object) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(JSON.writeValueAsString(object).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static <R extends HasMetadata> InformerEventSource<R, PortForward> informer(
      EventSourceContext<PortForward> context, Class<R> type, String name) {
    return new InformerEventSource<>(
        InformerEventSourceConfiguration.from(type, PortForward.class)
            .withName(name)
            .withLabelSelector(SELECTOR)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(PortForward.class))
            .build(),
        context);
  }
}
