package dev.portforward.operator.tunnels;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.Limits;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.api.v1alpha1.TunnelClient;
import dev.portforward.api.v1alpha1.TunnelForward;
import dev.portforward.api.v1alpha1.TunnelRemoteForward;
import dev.portforward.tunnel.TunnelServer.ClientView;
import dev.portforward.tunnel.TunnelServer.Report;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The client, forward and refusal parts of an SSHTunnel's status, from what its server reports
 * on {@code /tunnel/clients}, and the Events that tell how they changed. A forward is bound when
 * a client of its own user holds its port. Whatever the pod sends, the status stays bounded: at
 * most {@link Limits#MAX_STATUS_NODES} clients, only the spec's forwards, only known refusal
 * reasons. Pure.
 */
public final class TunnelStatuses {

  /** At most this many connect or disconnect Events per report; the rest are counted in one more. */
  static final int MAX_CLIENT_EVENTS = 5;
  /** A user name, fingerprint, address or time is far shorter than this. */
  private static final int MAX_FIELD = 128;
  private static final Set<String> REFUSAL_REASONS = Set.of("auth", "limit", "session", "listen", "destination");

  private TunnelStatuses() {}

  /** An Event to record on the SSHTunnel. */
  public record Event(String type, String reason, String message) {}

  /** Fills {@code status}'s clients, clientCount, forwards and refusedRequests from {@code report}. */
  public static void fill(SshTunnelStatus status, SshTunnel tunnel, Report report) {
    List<ClientView> reported = Optional.ofNullable(report.clients()).orElse(List.of());
    status.setClientCount(Math.max(report.clientCount(), Math.min(reported.size(), Limits.MAX_STATUS_NODES)));
    status.setClients(clients(reported));
    status.setForwards(forwards(tunnel, reported));
    Map<String, Long> refused = new TreeMap<>();
    Optional.ofNullable(report.refused()).orElse(Map.of()).forEach((reason, count) -> {
      if (REFUSAL_REASONS.contains(reason) && count != null && count > 0) {
        refused.put(reason, count);
      }
    });
    status.setRefusedRequests(refused);
  }

  /** The state of a tunnel whose server runs no ready pod: nobody connected, nothing bound. */
  public static void nobody(SshTunnelStatus status, SshTunnel tunnel) {
    status.setClientCount(0);
    status.setClients(List.of());
    status.setForwards(forwards(tunnel, List.of()));
  }

  /** At most {@link Limits#MAX_STATUS_NODES} clients, the longest connected first. */
  public static List<TunnelClient> clients(List<ClientView> reported) {
    return reported.stream()
        .filter(Objects::nonNull)
        .sorted(Comparator.comparing(ClientView::since, Comparator.nullsLast(Comparator.naturalOrder()))
            .thenComparing(ClientView::source, Comparator.nullsLast(Comparator.naturalOrder())))
        .limit(Limits.MAX_STATUS_NODES)
        .map(view -> {
          TunnelClient client = new TunnelClient();
          client.setUser(printable(view.user()));
          client.setFingerprint(printable(view.fingerprint()));
          client.setSource(printable(view.source()));
          client.setSince(printable(view.since()));
          client.setReceivedBytes(view.receivedBytes());
          client.setSentBytes(view.sentBytes());
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
        forward.setBound(reported.stream().filter(Objects::nonNull)
            .anyMatch(client -> user.getName().equals(client.user())
                && Optional.ofNullable(client.boundPorts()).orElse(List.of()).contains(remote.getPort())));
        forwards.add(forward);
      }
    }
    return forwards;
  }

  /**
   * What changed between two statuses, as Events: clients that connected and went away (at most
   * {@link #MAX_CLIENT_EVENTS} of each named, the rest counted), and requests refused since the
   * last report (a count lower than before means the server restarted and counts from zero).
   */
  public static List<Event> events(SshTunnelStatus before, SshTunnelStatus after) {
    List<TunnelClient> was = Optional.ofNullable(before).map(SshTunnelStatus::getClients).orElse(List.of());
    List<TunnelClient> is = Optional.ofNullable(after.getClients()).orElse(List.of());
    Set<String> wasKeys = was.stream().map(TunnelStatuses::key).collect(Collectors.toSet());
    Set<String> isKeys = is.stream().map(TunnelStatuses::key).collect(Collectors.toSet());
    List<Event> events = new ArrayList<>();
    clientEvents(is.stream().filter(c -> !wasKeys.contains(key(c))).toList(), Reason.TUNNEL_CLIENT_CONNECTED,
        "connected", events);
    clientEvents(was.stream().filter(c -> !isKeys.contains(key(c))).toList(), Reason.TUNNEL_CLIENT_DISCONNECTED,
        "disconnected", events);
    Map<String, Long> wasRefused = Optional.ofNullable(before).map(SshTunnelStatus::getRefusedRequests).orElse(Map.of());
    Map<String, Long> newlyRefused = new TreeMap<>();
    Optional.ofNullable(after.getRefusedRequests()).orElse(Map.of()).forEach((reason, count) -> {
      long previous = wasRefused.getOrDefault(reason, 0L);
      long added = count >= previous ? count - previous : count;
      if (added > 0) {
        newlyRefused.put(reason, added);
      }
    });
    if (!newlyRefused.isEmpty()) {
      long total = newlyRefused.values().stream().mapToLong(Long::longValue).sum();
      events.add(new Event("Warning", Reason.TUNNEL_REQUESTS_REFUSED, total + " request(s) refused since the last report ("
          + newlyRefused.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "))
          + "); the tunnel pod's log names the user and the reason of each"));
    }
    return events;
  }

  private static void clientEvents(List<TunnelClient> changed, String reason, String verb, List<Event> events) {
    changed.stream().limit(MAX_CLIENT_EVENTS).forEach(c -> events.add(new Event("Normal", reason,
        c.getUser() + " " + verb + " from " + c.getSource() + " with key " + c.getFingerprint())));
    if (changed.size() > MAX_CLIENT_EVENTS) {
      events.add(new Event("Normal", reason, (changed.size() - MAX_CLIENT_EVENTS) + " more client(s) " + verb));
    }
  }

  /** The pod's word, kept short and printable: a status never echoes what it sent verbatim. */
  private static String printable(String text) {
    if (text == null) {
      return null;
    }
    String clean = text.replaceAll("[^\\x21-\\x7e]", "?");
    return clean.length() > MAX_FIELD ? clean.substring(0, MAX_FIELD) : clean;
  }

  /** One login: the same user, key and address since the same time. */
  private static String key(TunnelClient client) {
    return client.getUser() + " " + client.getFingerprint() + " " + client.getSource() + " " + client.getSince();
  }
}
