package dev.portforward.faults;

import dev.portforward.testbed.RoleProcess;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;

/**
 * Operator replicas competing for the leader Lease, as the chart runs them: which one leads is
 * read from the Lease (each process's HOSTNAME is its identity, as a pod's name is).
 */
final class Operators {

  private static final String LEASE = "portforward-operator";
  /** The tests' operators keep their Lease in default (RoleProcess). */
  private static final String LEASE_NAMESPACE = "default";
  /** A lease of 15 s (the default) and a JVM taking over on a loaded machine, with room to spare. */
  private static final Duration TAKEOVER = Duration.ofMinutes(2);

  private Operators() {}

  /** Waits until one of the live {@code replicas} holds the Lease, and returns it. */
  static RoleProcess awaitLeader(KubernetesClient client, List<RoleProcess> replicas) {
    return Awaitility.await("one of " + replicas.stream().map(RoleProcess::identity).toList() + " leads")
        .atMost(TAKEOVER)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> leader(client, replicas), Optional::isPresent)
        .orElseThrow();
  }

  private static Optional<RoleProcess> leader(KubernetesClient client, List<RoleProcess> replicas) {
    Lease lease = client.leases().inNamespace(LEASE_NAMESPACE).withName(LEASE).get();
    if (lease == null || lease.getSpec() == null) {
      return Optional.empty();
    }
    String holder = lease.getSpec().getHolderIdentity();
    return replicas.stream().filter(RoleProcess::isAlive).filter(r -> r.identity().equals(holder)).findFirst();
  }
}
