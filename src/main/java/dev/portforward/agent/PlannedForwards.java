package dev.portforward.agent;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.util.List;

/**
 * The agent's PortForward cache: each forward as {@link NodePlanner} reads it. Every agent caches
 * every forward of the cluster, and most of a forward is what no agent reads: managedFields, the
 * annotations (kubectl's last-applied-configuration is a second copy of the spec), and of the
 * status the endpoints and every message. Kept: metadata but those two, the spec, and of the status
 * the observed generation, each condition's type, status and reason, the nodes' names and whether
 * each is programmed (who holds a gateway mapping), and the gateway's grant.
 */
final class PlannedForwards extends BasicItemStore<PortForward> {

  PlannedForwards() {
    super(Cache::metaNamespaceKeyFunc);
  }

  @Override
  public PortForward put(String key, PortForward pf) {
    pf.getMetadata().setManagedFields(null);
    pf.getMetadata().setAnnotations(null);
    PortForwardStatus status = pf.getStatus();
    if (status != null) {
      status.setEndpoints(List.of());
      status.setEndpointsSummary(null);
      status.setTarget(null);
      status.setPolicy(null);
      status.getConditions().forEach(c -> c.setMessage(null));
      status.getNodes().forEach(n -> {
        n.setMessage(null);
        n.setLastSyncTime(null);
      });
    }
    return super.put(key, pf);
  }
}
