package dev.portforward.agent;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.GatewayProtocol;
import dev.portforward.api.v1alpha1.GatewayReport;
import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.gateway.GatewayException;
import dev.portforward.gateway.Gateways;
import dev.portforward.gateway.Mapping;
import dev.portforward.gateway.Method;
import dev.portforward.gateway.Transport;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Keeps the gateway mappings this node holds equal to what it should hold: maps what is wanted,
 * renews each lease at half its length, checks each mapping every check period and makes it again
 * when the gateway lost it, and removes mappings no longer wanted (permanent ones are retried
 * until they are gone; a finite one is given up once its lease has run out anyway). All gateway
 * traffic happens on one thread of its own, so a silent gateway never delays the node's rules.
 */
public final class GatewayMappings implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(GatewayMappings.class);
  /** How often due work is looked for; no request is sent unless something is due. */
  private static final Duration TICK = Duration.ofSeconds(1);
  /**
   * How long a forward may be missing from the plan before its mapping is removed: an edited
   * forward drops out until the operator accepts its new generation, which must not cost it
   * its mapping.
   */
  static final Duration GRACE = Duration.ofSeconds(5);

  /**
   * Where one wanted mapping stands: the mapping granted, and what went wrong last (a renewal
   * can fail while the mapping still holds). {@code reason} is set only when there is no mapping.
   */
  record Outcome(Optional<Mapping> mapping, String reason, String message) {}

  private static final class Held {
    final GatewayWish wish;
    Mapping mapping;
    Instant renewAt;
    Instant due;
    /** Since when the forward is missing from what is wanted; null while it is wanted. */
    Instant missingSince;

    Held(GatewayWish wish, Mapping adopted, Instant now) {
      this.wish = wish;
      this.mapping = adopted;
      this.renewAt = now;
      this.due = now;
    }
  }

  private record Leaving(Mapping mapping, Instant due) {}

  /**
   * What becomes of the mappings held before, by forward: those a wish asks for again are kept,
   * every other one (its forward gone, or now on another transport, port or protocol) is removed.
   */
  record Adoption(Map<String, Mapping> kept, List<Mapping> leaving) {}

  /**
   * What identifies a mapping at the gateway: the protocol that made it (and removes it), its
   * transport and its external port. Mappings that differ in any of these are different entries.
   */
  private record Identity(Method method, Transport transport, int externalPort) {
    static Identity of(Mapping mapping) {
      return new Identity(mapping.method(), mapping.transport(), mapping.externalPort());
    }
  }

  private final Supplier<Optional<InetAddress>> gatewayAddress;
  private final Function<InetAddress, Gateways> gatewaysAt;
  private final Clock clock;
  private final Duration checkPeriod;
  private Runnable onChange;
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(
      r -> new Thread(r, "agent-gateway"));
  private final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
  private volatile Map<String, GatewayWish> wished;
  /** Only the gateway thread touches these. */
  private final Map<String, Held> held = new HashMap<>();
  private final List<Leaving> leaving = new ArrayList<>();
  /** Mappings held before, by forward, that no entry of {@link #held} has taken over yet. */
  private Map<String, Mapping> adopted;
  private InetAddress gatewaysAddress;
  private Gateways gateways;

  public GatewayMappings(Supplier<Optional<InetAddress>> gatewayAddress, Function<InetAddress, Gateways> gatewaysAt,
      Clock clock, Duration checkPeriod) {
    this.gatewayAddress = gatewayAddress;
    this.gatewaysAt = gatewaysAt;
    this.clock = clock;
    this.checkPeriod = checkPeriod;
  }

  /**
   * Starts keeping mappings.
   *
   * @param adopted mappings a previous agent on this node reported, by forward: kept when still
   *     wanted, removed otherwise
   * @param onChange called (on the gateway thread) when a report would say something new
   */
  public GatewayMappings start(Map<String, Mapping> adopted, Runnable onChange) {
    this.adopted = new HashMap<>(adopted);
    this.onChange = onChange;
    executor.scheduleWithFixedDelay(this::pass, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** What this node should hold now; the mappings follow on the gateway thread. */
  public void want(List<GatewayWish> wishes) {
    Map<String, GatewayWish> next = new HashMap<>();
    wishes.forEach(w -> next.put(w.id(), w));
    if (!next.equals(wished)) {
      wished = Map.copyOf(next);
      executor.execute(this::pass);
    }
  }

  /** How many wanted mappings the gateway refused and this node does not hold. */
  public int refused() {
    return (int) outcomes.values().stream().filter(o -> Reason.MAPPING_REFUSED.equals(o.reason())).count();
  }

  /** The report of a forward's mapping, once the gateway was asked. */
  public Optional<GatewayReport> report(String id) {
    return Optional.ofNullable(outcomes.get(id)).map(GatewayMappings::report);
  }

  private void pass() {
    try {
      Map<String, GatewayWish> wishes = wished;
      if (wishes == null) {
        return; // Nothing is known yet; adopted mappings must not be removed before it is.
      }
      Instant now = clock.instant();
      boolean changed = release(wishes, now);
      Adoption adoption = adopt(adopted, wishes);
      adopted.clear();
      for (GatewayWish wish : wishes.values()) {
        held.computeIfAbsent(wish.id(), id -> new Held(wish, adoption.kept().get(id), now));
      }
      adoption.leaving().forEach(m -> leaving.add(new Leaving(m, now)));
      // Removals first: a wish may map the very port a removal would otherwise delete after it.
      changed |= removeLeaving(now);
      for (Held entry : held.values()) {
        if (!now.isBefore(entry.due)) {
          changed |= keep(entry, now);
        }
      }
      if (changed) {
        onChange.run();
      }
    } catch (RuntimeException e) {
      // The loop must outlive any one failure; the next tick tries again.
      LOG.errorf(e, "gateway mapping pass failed");
    }
  }

  /**
   * Lets go of mappings whose forward is gone (for {@link #GRACE}) or now asks for something
   * else. A changed wish for
   * the same external port keeps its mapping, which its next request replaces (a removal after
   * that would delete the new one).
   */
  private boolean release(Map<String, GatewayWish> wishes, Instant now) {
    boolean changed = false;
    for (var it = held.values().iterator(); it.hasNext(); ) {
      Held entry = it.next();
      GatewayWish wanted = wishes.get(entry.wish.id());
      entry.missingSince = wanted != null ? null : Objects.requireNonNullElse(entry.missingSince, now);
      boolean gone = wanted == null && !now.isBefore(entry.missingSince.plus(GRACE));
      if (gone || wanted != null && !entry.wish.equals(wanted)) {
        Mapping kept = wanted == null ? null : sameMapping(entry.mapping, wanted);
        if (entry.mapping != null && kept == null) {
          leaving.add(new Leaving(entry.mapping, now));
        }
        if (kept != null) {
          adopted.put(entry.wish.id(), kept);
        }
        outcomes.remove(entry.wish.id());
        it.remove();
        changed = true;
      }
    }
    return changed;
  }

  /** Keeps each mapping held before whose forward still asks for exactly it; the rest leave. */
  static Adoption adopt(Map<String, Mapping> before, Map<String, GatewayWish> wishes) {
    Map<String, Mapping> kept = new HashMap<>();
    List<Mapping> leaving = new ArrayList<>();
    before.forEach((id, mapping) -> {
      Mapping same = sameMapping(mapping, wishes.get(id));
      if (same != null) {
        kept.put(id, same);
      } else {
        leaving.add(mapping);
      }
    });
    return new Adoption(kept, leaving);
  }

  /**
   * {@code mapping} when it is the one {@code wish} asks for (transport, external port, and the
   * protocol unless Auto), else null (also when there is no wish).
   */
  private static Mapping sameMapping(Mapping mapping, GatewayWish wish) {
    return mapping != null && wish != null && mapping.transport() == wish.request().transport()
        && mapping.externalPort() == wish.request().externalPort()
        && wish.method().map(m -> m == mapping.method()).orElse(true) ? mapping : null;
  }

  /** Maps, renews or checks one mapping; whether what the report says changed. */
  private boolean keep(Held entry, Instant now) {
    Outcome before = outcomes.get(entry.wish.id());
    GatewayWish wish = entry.wish;
    Outcome after;
    try {
      Gateways gateways = gateways();
      Mapping mapping;
      if (entry.mapping == null) {
        mapping = gateways.map(wish.method(), wish.request());
      } else if (!now.isBefore(entry.renewAt)) {
        mapping = gateways.map(Optional.of(entry.mapping.method()), wish.request());
      } else {
        mapping = gateways.refresh(entry.mapping, wish.request());
      }
      if (!wish.listenAddresses().isEmpty() && !wish.listenAddresses().contains(mapping.internalAddress())) {
        gateways.unmap(mapping);
        throw GatewayException.refused("listen.addresses does not include "
            + NetUtil.toAddressString(mapping.internalAddress()) + ", this node's address toward the gateway");
      }
      if (entry.mapping != null && now.isBefore(entry.renewAt) && sameExceptExpiry(mapping, entry.mapping)) {
        // A PCP or NAT-PMP check renews as a side effect; the report keeps the expiry of the last
        // renewal proper, so that a check does not rewrite the status every period.
        mapping = entry.mapping;
      }
      if (entry.mapping == null || !mapping.equals(entry.mapping)) {
        entry.renewAt = mapping.expiresAt()
            .map(end -> now.plus(Duration.between(now, end).dividedBy(2)))
            .orElse(Instant.MAX);
      }
      entry.mapping = mapping;
      entry.due = entry.renewAt.isBefore(now.plus(checkPeriod)) ? entry.renewAt : now.plus(checkPeriod);
      after = new Outcome(Optional.of(mapping), null, null);
    } catch (GatewayException e) {
      LOG.warnf("gateway mapping for %s: %s", wish.id(), e.getMessage());
      if (entry.mapping != null && entry.mapping.expiresAt().filter(now::isAfter).isPresent()) {
        entry.mapping = null;
      }
      entry.due = now.plus(checkPeriod);
      String reason = entry.mapping != null ? null
          : e.isRefused() ? Reason.MAPPING_REFUSED : Reason.GATEWAY_UNAVAILABLE;
      after = new Outcome(Optional.ofNullable(entry.mapping), reason, e.getMessage());
    }
    outcomes.put(wish.id(), after);
    return !after.equals(before);
  }

  private boolean removeLeaving(Instant now) {
    boolean removedAny = false;
    List<Leaving> retry = new ArrayList<>();
    for (Leaving gone : leaving) {
      if (takenOver(gone.mapping(), held.values().stream().map(h -> h.mapping).filter(Objects::nonNull).toList())) {
        continue; // A wish holds this very mapping now: removing it would remove theirs.
      }
      if (now.isBefore(gone.due())) {
        retry.add(gone);
        continue;
      }
      try {
        gateways().unmap(gone.mapping());
        LOG.infof("removed the gateway mapping of external port %d", gone.mapping().externalPort());
        removedAny = true;
      } catch (GatewayException e) {
        boolean expired = gone.mapping().expiresAt().filter(now::isAfter).isPresent();
        LOG.warnf("could not remove the gateway mapping of external port %d%s: %s", gone.mapping().externalPort(),
            expired ? " (its lease ran out anyway)" : ", will retry", e.getMessage());
        if (!expired) {
          retry.add(new Leaving(gone.mapping(), now.plus(checkPeriod)));
        }
      }
    }
    leaving.clear();
    leaving.addAll(retry);
    return removedAny;
  }

  /**
   * Whether a mapping that is no longer wanted is now held for a wish, so that removing it would
   * remove theirs. One made by another protocol or for another transport is another entry and
   * still has to go (a wish that has not been mapped yet is mapped after the removal).
   */
  static boolean takenOver(Mapping gone, Collection<Mapping> held) {
    return held.stream().map(Identity::of).anyMatch(Identity.of(gone)::equals);
  }

  /** The gateway's clients, made again when the gateway's address changes. */
  private Gateways gateways() throws GatewayException {
    InetAddress address = gatewayAddress.get().orElseThrow(() -> GatewayException.unavailable(
        "this node has no IPv4 default gateway; set portforward.agent.gateway.address"));
    if (!address.equals(gatewaysAddress)) {
      gateways = gatewaysAt.apply(address);
      gatewaysAddress = address;
    }
    return gateways;
  }

  private static boolean sameExceptExpiry(Mapping a, Mapping b) {
    return a.method() == b.method() && a.transport() == b.transport() && a.internalAddress().equals(b.internalAddress())
        && a.internalPort() == b.internalPort() && a.externalAddress().equals(b.externalAddress())
        && a.externalPort() == b.externalPort() && a.isPermanent() == b.isPermanent();
  }

  /** Removes the mappings a node report lists (agent --cleanup); returns how many could not be removed. */
  public int removeAll(Collection<Mapping> mappings) {
    int failed = 0;
    for (Mapping mapping : mappings) {
      try {
        gateways().unmap(mapping);
        LOG.infof("removed the gateway mapping of external port %d", mapping.externalPort());
      } catch (GatewayException e) {
        LOG.warnf("could not remove the gateway mapping of external port %d: %s", mapping.externalPort(),
            e.getMessage());
        failed++;
      }
    }
    return failed;
  }

  /** The mappings a node report lists, by forward (namespace/name). */
  public static Map<String, Mapping> reported(NodeReportStatus status) {
    Map<String, Mapping> mappings = new HashMap<>();
    if (status != null) {
      status.getForwards().forEach(f -> mapping(f.getGateway())
          .ifPresent(m -> mappings.put(f.getNamespace() + "/" + f.getName(), m)));
    }
    return mappings;
  }

  static GatewayReport report(Outcome outcome) {
    GatewayReport report = new GatewayReport();
    outcome.mapping().ifPresent(m -> {
      report.setProtocol(switch (m.method()) {
        case PCP -> GatewayProtocol.PCP;
        case NATPMP -> GatewayProtocol.NATPMP;
        case UPNP -> GatewayProtocol.UPnP;
      });
      report.setTransport(Protocol.valueOf(m.transport().name()));
      report.setInternalAddress(NetUtil.toAddressString(m.internalAddress()));
      report.setInternalPort(m.internalPort());
      report.setAddress(NetUtil.toAddressString(m.externalAddress()));
      report.setPort(m.externalPort());
      report.setExpiresAt(m.expiresAt().map(t -> t.truncatedTo(ChronoUnit.SECONDS).toString()).orElse(null));
    });
    report.setReason(outcome.reason());
    report.setMessage(outcome.message());
    return report;
  }

  /** A mapping as a node report recorded it, so that a later agent can renew or remove it. */
  private static Optional<Mapping> mapping(GatewayReport report) {
    if (report == null || report.getAddress() == null || report.getProtocol() == null
        || report.getTransport() == null || report.getInternalAddress() == null || report.getPort() == null
        || report.getInternalPort() == null) {
      return Optional.empty();
    }
    InetAddress internal = NetUtil.createInetAddressFromIpAddressString(report.getInternalAddress());
    InetAddress external = NetUtil.createInetAddressFromIpAddressString(report.getAddress());
    if (internal == null || external == null) {
      return Optional.empty();
    }
    Method method = switch (report.getProtocol()) {
      case PCP -> Method.PCP;
      case NATPMP -> Method.NATPMP;
      case UPnP, Auto -> Method.UPNP;
    };
    return Optional.of(new Mapping(method, Transport.valueOf(report.getTransport().name()), internal,
        report.getInternalPort(), external, report.getPort(),
        Optional.ofNullable(report.getExpiresAt()).map(Instant::parse)));
  }

  /**
   * Stops, first removing every mapping it still holds or is removing: for an agent whose node
   * holds no forward any more (an uninstall), so that no mapping outlives it, even one whose
   * removal was still waiting for {@link #GRACE}. Returns how many could not be removed (a
   * finite one runs out with its lease).
   */
  public int closeRemovingAll(Duration wait) throws InterruptedException {
    executor.shutdownNow();
    if (!executor.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
      return 0;
    }
    // The gateway thread has ended: its state is this thread's now.
    List<Mapping> all = new ArrayList<>();
    held.values().stream().map(entry -> entry.mapping).filter(Objects::nonNull).forEach(all::add);
    leaving.forEach(entry -> all.add(entry.mapping()));
    if (adopted != null) {
      all.addAll(adopted.values());
    }
    return removeAll(all);
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
