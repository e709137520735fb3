package dev.portforward.operator.judge;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.operator.policy.ApiServer;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.target.ClusterView;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

/**
 * Everything a verdict depends on, as the operator's caches hold it. The reconciler reads its
 * informers through this; a test hands in plain lists.
 */
public interface Snapshot extends ClusterView {

  /**
   * The policy that applies to the forwards of a namespace, before the cluster's own facts (API
   * server, nodes) are added to it.
   */
  ForwardPolicy policy(String namespace);

  /** Every PortForward of a namespace: its policy's forward limit counts them. */
  List<PortForward> forwards(String namespace);

  /** Every PortForward with this {@link dev.portforward.operator.policy.PortClaims#key}. */
  List<PortForward> claimants(String claimKey);

  List<Node> nodes();

  Optional<PortForwardNodeReport> report(String node);

  /** A relay Deployment of the operator's, by namespace and name. */
  Optional<Deployment> relayDeployment(String namespace, String name);

  ApiServer apiServer();

  /** Looks up an external target's host name. */
  InetAddress[] lookup(String host) throws UnknownHostException;
}
