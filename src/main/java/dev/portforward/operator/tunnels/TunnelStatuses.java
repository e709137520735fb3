package dev.portforward.operator.tunnels;

import dev.portforward.api.v1alpha1.Limits;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.api.v1alpha1.TunnelClient;
import dev.portforward.api.v1alpha1.TunnelForward;
import dev.portforward.api.v1alpha1.TunnelRemoteForward;
import dev.portforward.tunnel.TunnelServer.ClientView;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The client and forward lists of an SSHTunnel's status, from what its server reports on
 * {@code /tunnel/clients}. A forward is bound when a client of its own user holds its port. Pure.
 */
public final class TunnelStatuses {

  private TunnelStatuses() {}

  /** At most {@link Limits#MAX_STATUS_NODES} clients, the longest connected first. */
  public static List<TunnelClient> clients(List<ClientView> reported) {
    return reported.stream()
        .sorted(Comparator.comparing(ClientView::since).thenComparing(ClientView::source))
        .limit(Limits.MAX_STATUS_NODES)
        .map(view -> {
          TunnelClient client = new TunnelClient();
          client.setUser(view.user());
          client.setFingerprint(view.fingerprint());
          client.setSource(view.source());
          client.setSince(view.since());
          return client;
        })
        .toList();
  }

  /** Every remote forward of the spec, in spec order, and whether a client of its user holds it. */
  public static List<TunnelForward> forwards(SshTunnel tunnel, List<ClientView> reported) {
    List<TunnelForward> forwards = new ArrayList<>();
    for (SshTunnelUser user : tunnel.getSpec().getUsers()) {
      for (TunnelRemoteForward remote : Optional.ofNullable(user.getRemoteForwards()).orElse(List.of())) {
        TunnelForward forward = new TunnelForward();
        forward.setUser(user.getName());
        forward.setPort(remote.getPort());
        forward.setServiceName(remote.getServiceName());
        forward.setBound(reported.stream()
            .anyMatch(client -> client.user().equals(user.getName()) && client.boundPorts().contains(remote.getPort())));
        forwards.add(forward);
      }
    }
    return forwards;
  }
}
