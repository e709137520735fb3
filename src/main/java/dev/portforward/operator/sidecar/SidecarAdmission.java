package dev.portforward.operator.sidecar;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.sidecar.SidecarSelection.SidecarFor;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Answers one AdmissionReview for a pod: always allowed, with a JSON patch that adds the relay
 * sidecar when accepted Sidecar PortForwards select the pod. When in doubt (an error reading the
 * cluster) it admits the pod unchanged; the PortForward's status then names the pod.
 */
public final class SidecarAdmission {

  /** What the webhook reads from the cluster. */
  public interface Cluster {
    List<PortForward> portForwards(String namespace);

    Optional<Service> service(String namespace, String name);
  }

  private static final Logger LOG = Logger.getLogger(SidecarAdmission.class);

  private SidecarAdmission() {}

  public static AdmissionReview respond(AdmissionReview review, Cluster cluster, SidecarInjection.Settings settings) {
    AdmissionRequest request = review.getRequest();
    AdmissionResponse response = new AdmissionResponse();
    response.setUid(request.getUid());
    response.setAllowed(true);
    if (request.getObject() instanceof Pod pod && "CREATE".equals(request.getOperation())) {
      try {
        List<Map<String, Object>> patch = patch(request.getNamespace(), pod, cluster, settings);
        if (!patch.isEmpty()) {
          response.setPatchType("JSONPatch");
          response.setPatch(Base64.getEncoder().encodeToString(
              Serialization.asJson(patch).getBytes(StandardCharsets.UTF_8)));
        }
      } catch (RuntimeException e) {
        LOG.errorf("webhook: pod %s/%s admitted without the relay sidecar: %s", request.getNamespace(),
            Optional.ofNullable(pod.getMetadata().getName()).orElse(pod.getMetadata().getGenerateName()), e.toString());
      }
    }
    AdmissionReview answer = new AdmissionReview();
    answer.setApiVersion(review.getApiVersion());
    answer.setKind(review.getKind());
    answer.setResponse(response);
    return answer;
  }

  /** The namespace comes from the request: a pod being created may not carry it yet. */
  private static List<Map<String, Object>> patch(String namespace, Pod pod, Cluster cluster,
      SidecarInjection.Settings settings) {
    List<PortForward> candidates = cluster.portForwards(namespace);
    Function<String, Optional<Service>> services = name -> cluster.service(namespace, name);
    List<SidecarFor> forwards = SidecarSelection.select(pod, candidates, services);
    Map<String, PortForward> byName = candidates.stream()
        .collect(Collectors.toMap(pf -> pf.getMetadata().getName(), pf -> pf));
    return SidecarInjection.patch(pod, forwards, settings, name -> RelayNames.configMap(byName.get(name)));
  }
}
