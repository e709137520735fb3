package dev.portforward.operator;

import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.operator.relays.RelayOwnership;
import dev.portforward.operator.relays.RelayWorkload;
import dev.portforward.operator.status.ObjectEvents;
import dev.portforward.operator.tunnels.HostKeys;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.operator.tunnels.TunnelConfigs;
import dev.portforward.operator.tunnels.TunnelReports;
import dev.portforward.operator.tunnels.TunnelStatuses;
import dev.portforward.operator.tunnels.TunnelJudge;
import dev.portforward.operator.tunnels.TunnelNames;
import dev.portforward.operator.tunnels.TunnelWorkload;
import dev.portforward.tunnel.TunnelServer.Report;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import java.io.IOException;
import java.net.Inet4Address;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Turns each SSHTunnel into its objects (TunnelWorkload: config ConfigMap, Deployment, SSH and
 * forward Services, and the host key Secret, made once and never rewritten) and its status. The
 * decision is {@link TunnelJudge}'s; this class looks up what exists under the tunnel's names,
 * applies, and writes. Every object is owned by the SSHTunnel (the garbage collector removes it
 * with it) and carries the managed-by label the chart's admission policy requires; an object
 * under one of its names that the operator did not make refuses the tunnel and is left alone.
 * While the tunnel's server is ready, its report ({@link TunnelReports}) is read every
 * portforward.tunnels.status-interval into the status (clients, bound forwards, bytes, refusals),
 * with Events for clients that come and go and for refused requests. With
 * portforward.tunnels.enabled off, every SSHTunnel is refused and nothing is made.
 */
@ControllerConfiguration(name = SshTunnelReconciler.NAME)
public class SshTunnelReconciler implements Reconciler<SshTunnel> {

  static final String NAME = "sshtunnel";
  private static final String SELECTOR = RelayWorkload.MANAGED_BY_LABEL + "=" + RelayWorkload.MANAGED_BY
      + "," + TunnelNames.TUNNEL_LABEL;
  /** A conflicting object is not watched (it lacks the label): the tunnel looks again meanwhile. */
  private static final Duration CONFLICT_RECHECK = Duration.ofSeconds(30);

  private final OperatorConfig config;
  private final ApiServerAddresses apiServer;
  private final Clock clock = Clock.systemUTC();
  private final TunnelReports reports = new TunnelReports();
  /** Tunnels whose last report could not be read: the Event is recorded once, not every interval. */
  private final Set<String> unreadable = ConcurrentHashMap.newKeySet();

  private final ObjectEvents events;

  SshTunnelReconciler(OperatorConfig config, ApiServerAddresses apiServer, KubernetesClient client) {
    this.config = config;
    this.apiServer = apiServer;
    this.events = new ObjectEvents(client);
  }

  /** The tunnel's own Deployments, Services and ConfigMaps wake it when they change or go away. */
  @Override
  public List<EventSource<?, SshTunnel>> prepareEventSources(EventSourceContext<SshTunnel> context) {
    return List.of(informer(context, Deployment.class, "tunnel-deployments"),
        informer(context, Service.class, "tunnel-services"),
        informer(context, ConfigMap.class, "tunnel-configmaps"));
  }

  @Override
  public UpdateControl<SshTunnel> reconcile(SshTunnel tunnel, Context<SshTunnel> context) {
    KubernetesClient client = context.getClient();
    String fieldManager = context.getControllerConfiguration().fieldManager();
    if (!config.tunnels().enabled()) {
      // Nothing is looked up or made: the refusal alone is written.
      writeStatus(tunnel, TunnelJudge.status(tunnel, Optional.of(TunnelJudge.disabled()), false, Optional.empty(),
          Optional.empty(), clock.instant()), client, fieldManager);
      return UpdateControl.noUpdate();
    }
    List<HasMetadata> wanted = new ArrayList<>();
    wanted.add(TunnelWorkload.configMap(tunnel, TunnelConfigs.render(tunnel, deniedDestinations())));
    wanted.add(TunnelWorkload.deployment(tunnel, config.relay().image(), config.relay().imagePullPolicy()));
    wanted.add(TunnelWorkload.sshService(tunnel));
    wanted.addAll(TunnelWorkload.forwardServices(tunnel));
    // Asked for by name: an object someone else made lacks the label the informers select by.
    Optional<Secret> hostKey = Optional.ofNullable(client.secrets()
        .inNamespace(tunnel.getMetadata().getNamespace()).withName(TunnelNames.hostKeySecret(tunnel)).get());
    List<HasMetadata> existing = new ArrayList<>(hostKey.stream().toList());
    wanted.forEach(object -> Optional.ofNullable(client.resource(object).get()).ifPresent(existing::add));

    Optional<Refusal> refusal = TunnelJudge.refusal(tunnel, existing);
    Optional<String> fingerprint = Optional.empty();
    Optional<Deployment> deployment = existing.stream()
        .filter(Deployment.class::isInstance).map(Deployment.class::cast).findFirst();
    if (refusal.isEmpty()) {
      fingerprint = hostKey.isPresent()
          ? hostKey.flatMap(SshTunnelReconciler::fingerprint) : Optional.of(createHostKey(tunnel, client));
      PatchContext apply = new PatchContext.Builder()
          .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(fieldManager).withForce(true).build();
      for (HasMetadata object : wanted) {
        HasMetadata applied = client.resource(object).patch(apply);
        if (applied instanceof Deployment d) {
          deployment = Optional.of(d);
        }
      }
      deleteDroppedServices(tunnel, wanted, client);
    }

    boolean ready = TunnelJudge.ready(deployment);
    Optional<Report> report = refusal.isEmpty() && ready ? report(tunnel, client) : Optional.empty();
    SshTunnelStatus next = TunnelJudge.status(tunnel, refusal, ready, fingerprint, report, clock.instant());
    TunnelStatuses.events(tunnel.getStatus(), next)
        .forEach(event -> events.record(tunnel, event.type(), event.reason(), event.message(), clock.instant()));
    writeStatus(tunnel, next, client, fieldManager);
    if (refusal.isPresent()) {
      return UpdateControl.<SshTunnel>noUpdate().rescheduleAfter(CONFLICT_RECHECK);
    }
    // The server's clients change without any object changing: its report is read again meanwhile.
    return ready ? UpdateControl.<SshTunnel>noUpdate().rescheduleAfter(config.tunnels().statusInterval())
        : UpdateControl.noUpdate();
  }

  /** The ready server's report; empty (the status keeps the last one, an Event says why) when it cannot be read. */
  private Optional<Report> report(SshTunnel tunnel, KubernetesClient client) {
    String uid = tunnel.getMetadata().getUid();
    try {
      Optional<Report> report = reports.read(tunnel, client);
      unreadable.remove(uid);
      return report;
    } catch (IOException e) {
      if (unreadable.add(uid)) {
        events.record(tunnel, "Warning", Reason.TUNNEL_REPORT_UNREADABLE,
            "the tunnel server's report could not be read (the status keeps the last one): " + e.getMessage(),
            clock.instant());
      }
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static void writeStatus(SshTunnel tunnel, SshTunnelStatus next, KubernetesClient client, String fieldManager) {
    if (!TunnelJudge.unchanged(tunnel, next)) {
      client.resource(statusPatch(tunnel, next)).subresource("status").patch(new PatchContext.Builder()
          .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(fieldManager).withForce(true).build());
    }
  }

  /**
   * A new host key, created, never updated: if another pass created one first, the create fails
   * and the reconcile is retried, reading that one.
   */
  private static String createHostKey(SshTunnel tunnel, KubernetesClient client) {
    HostKeys.HostKey key = HostKeys.generate(tunnel.getMetadata().getNamespace() + "/" + tunnel.getMetadata().getName());
    client.resource(TunnelWorkload.hostKeySecret(tunnel, key)).create();
    return key.fingerprint();
  }

  /** Forward Services of this tunnel that its spec no longer names. */
  private static void deleteDroppedServices(SshTunnel tunnel, List<HasMetadata> wanted, KubernetesClient client) {
    List<Service> labelled = client.services().inNamespace(tunnel.getMetadata().getNamespace())
        .withLabel(TunnelNames.TUNNEL_LABEL, TunnelNames.workload(tunnel)).list().getItems();
    for (Service service : labelled) {
      boolean stillWanted = wanted.stream().anyMatch(w -> w.getKind().equals("Service")
          && w.getMetadata().getName().equals(service.getMetadata().getName()));
      if (!stillWanted && RelayOwnership.ownedBy(service, tunnel)) {
        client.resource(service).delete();
      }
    }
  }

  /** The API server's addresses and the cluster admin's target denylist, as CIDRs. */
  private List<String> deniedDestinations() {
    Stream<String> apiServerAddresses = apiServer.get().addresses().stream()
        .map(address -> address.getHostAddress() + (address instanceof Inet4Address ? "/32" : "/128"));
    return Stream.concat(apiServerAddresses, config.policy().targetDenylist().orElse(List.of()).stream()).toList();
  }

  /** Only what server-side apply of the status needs: identity and the new status. */
  private static SshTunnel statusPatch(SshTunnel tunnel, SshTunnelStatus status) {
    SshTunnel patch = new SshTunnel();
    patch.setMetadata(new ObjectMetaBuilder()
        .withName(tunnel.getMetadata().getName())
        .withNamespace(tunnel.getMetadata().getNamespace())
        .build());
    patch.setStatus(status);
    return patch;
  }

  private static <R extends HasMetadata> InformerEventSource<R, SshTunnel> informer(
      EventSourceContext<SshTunnel> context, Class<R> type, String name) {
    return new InformerEventSource<>(
        InformerEventSourceConfiguration.from(type, SshTunnel.class)
            .withName(name)
            .withLabelSelector(SELECTOR)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(SshTunnel.class))
            .build(),
        context);
  }

  /** The fingerprint the operator wrote on a host key Secret it made. */
  private static Optional<String> fingerprint(Secret secret) {
    return Optional.ofNullable(secret.getMetadata().getAnnotations())
        .map(a -> a.get(TunnelWorkload.HOST_KEY_FINGERPRINT));
  }
}
