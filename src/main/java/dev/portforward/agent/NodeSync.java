package dev.portforward.agent;

import dev.portforward.agent.nft.Conntrack;
import dev.portforward.agent.nft.FlowCuts;
import dev.portforward.agent.nft.Nft;
import dev.portforward.agent.nft.RulesetRenderer;
import dev.portforward.agent.nft.TableListing;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Keeps the kernel's table equal to the desired forwards. A change touches only the forwards that
 * changed, in one transaction; an unchanged desired state performs no operation at all. The
 * periodic {@link #verify} compares the kernel's table with its own listing taken right after
 * the agent's last change (a whole replacement or a partial update) and replaces it whole when
 * someone changed it (drift) or when it cannot tell (at start, after a failure); a failed
 * transaction leaves the previous rules in force and forces a whole replacement next time.
 *
 * <p>One forward never takes the others down: when a transaction fails, the forwards the kernel
 * refuses are found by bisection ({@code nft -c} checks of tables holding a subset, so one bad
 * forward among n costs about log2(n) checks), the others are applied, and the refused ones are
 * reported with the kernel's message. A refused forward stays out while it is unchanged; it is
 * tried again when it changes, and by {@link #verify} when one check says the kernel now accepts it.
 *
 * <p>After the rules change, the established flows they no longer allow are cut ({@link Conntrack}).
 */
public final class NodeSync {

  /**
   * What one sync did, for the node's report.
   *
   * @param refused forwards (namespace/name) the kernel refused, with its message; the rest are in place
   */
  public record Outcome(boolean applied, boolean programmed, String error, Map<String, String> refused) {}

  private final Nft nft;
  private final Conntrack conntrack;
  /** What the kernel holds, as far as this agent knows; null when it cannot know (start, failure). */
  private List<NodeForward> applied;
  /** The kernel's own listing right after this agent's last change; null when it cannot know. */
  private String kernelListing;
  /** Forwards the kernel refused, exactly as they were then, with the kernel's message. */
  private final Map<NodeForward, String> refused = new LinkedHashMap<>();

  public NodeSync(Nft nft) {
    this.nft = nft;
    this.conntrack = new Conntrack(nft);
  }

  /** Brings the kernel to {@code desired} with the least work. */
  public synchronized Outcome sync(List<NodeForward> desired) {
    List<NodeForward> wanted = withoutRefused(desired);
    if (applied == null) {
      return replace(wanted, true);
    }
    if (applied.equals(wanted)) {
      return new Outcome(false, true, null, refusedIds());
    }
    try {
      nft.apply(RulesetRenderer.update(applied, wanted));
      // Listed now, so that the next resync can tell an untouched table from drift without
      // rewriting it; without a listing it replaces the table, as after a failure.
      kernelListing = listingOrNull();
      return done(wanted);
    } catch (Nft.NftException | IllegalArgumentException e) {
      applied = null;
      return isolate(wanted, e.getMessage());
    }
  }

  /** Like {@link #sync}, but first checks the kernel's table and repairs any drift. */
  public synchronized Outcome verify(List<NodeForward> desired) {
    try {
      if (!refused.isEmpty() && refusal(desired).isEmpty()) {
        refused.clear();
      }
      if (applied == null || kernelListing == null || !kernelListing.equals(nft.listTable())) {
        return replace(withoutRefused(desired), true);
      }
    } catch (Nft.NftException e) {
      return failed(e.getMessage());
    }
    return sync(desired);
  }

  private Outcome replace(List<NodeForward> wanted, boolean isolateOnFailure) {
    try {
      // After a start or a failure, the kernel's table is the only record of what was forwarded.
      List<FlowCuts.Dnat> tableBefore = applied == null ? TableListing.forwards(nft.listTableJson()) : null;
      nft.apply(RulesetRenderer.render(wanted));
      kernelListing = nft.listTable();
      if (tableBefore != null) {
        conntrack.cut(tableBefore, wanted);
      }
      return done(wanted);
    } catch (Nft.NftException | IllegalArgumentException e) {
      applied = null;
      return isolateOnFailure ? isolate(wanted, e.getMessage()) : failed(e.getMessage());
    }
  }

  /**
   * After a failed transaction: finds the forwards the kernel refuses and applies the others as a
   * whole replacement. When the kernel refuses even an empty table, or accepts every forward on
   * a check (the failure lay elsewhere), nothing is singled out: the previous rules stay, and the
   * next sync replaces the table.
   */
  private Outcome isolate(List<NodeForward> wanted, String failure) {
    try {
      if (refusal(List.of()).isPresent()) {
        return failed(failure);
      }
      List<NodeForward> accepted = new ArrayList<>();
      Map<NodeForward, String> refusedNow = new LinkedHashMap<>();
      bisect(wanted, false, accepted, refusedNow);
      if (refusedNow.isEmpty()) {
        return failed(failure);
      }
      refused.putAll(refusedNow);
      return replace(accepted, false);
    } catch (Nft.NftException e) {
      return failed(e.getMessage());
    }
  }

  /**
   * Adds each of {@code candidates} to {@code accepted} when the kernel accepts it together with
   * all accepted so far, else to {@code refusedNow}. Halving a failing set finds one bad forward
   * among n in about log2(n) checks; a set known to fail (its sibling passed, their union did
   * not) is split without checking it again.
   */
  private void bisect(List<NodeForward> candidates, boolean knownToFail, List<NodeForward> accepted,
      Map<NodeForward, String> refusedNow) {
    Optional<String> error = knownToFail && candidates.size() > 1 ? Optional.of("")
        : refusal(Stream.concat(accepted.stream(), candidates.stream()).toList());
    if (error.isEmpty()) {
      accepted.addAll(candidates);
      return;
    }
    if (candidates.size() == 1) {
      refusedNow.put(candidates.get(0), error.get());
      return;
    }
    List<NodeForward> first = candidates.subList(0, candidates.size() / 2);
    List<NodeForward> second = candidates.subList(candidates.size() / 2, candidates.size());
    int acceptedBefore = accepted.size();
    bisect(first, false, accepted, refusedNow);
    bisect(second, accepted.size() - acceptedBefore == first.size(), accepted, refusedNow);
  }

  /** Empty when the kernel would accept a table of exactly these forwards, else what nft said. */
  private Optional<String> refusal(List<NodeForward> forwards) {
    try {
      nft.check(RulesetRenderer.render(forwards));
      return Optional.empty();
    } catch (Nft.NftException | IllegalArgumentException e) {
      // A forward the renderer itself refuses (a name that is no Kubernetes name) is refused alike.
      return Optional.of(e.getMessage());
    }
  }

  /** {@code desired} less the forwards refused as they are now; forgets refusals of forwards gone or changed. */
  private List<NodeForward> withoutRefused(List<NodeForward> desired) {
    refused.keySet().retainAll(new HashSet<>(desired));
    return desired.stream().filter(f -> !refused.containsKey(f)).toList();
  }

  private Map<String, String> refusedIds() {
    Map<String, String> ids = new HashMap<>();
    refused.forEach((forward, message) -> ids.put(forward.id(), message));
    return Map.copyOf(ids);
  }

  private Outcome done(List<NodeForward> wanted) {
    if (applied != null) {
      conntrack.cut(FlowCuts.changed(applied, wanted), wanted);
    }
    applied = List.copyOf(wanted);
    return new Outcome(true, true, null, refusedIds());
  }

  private Outcome failed(String error) {
    applied = null;
    return new Outcome(false, false, error, Map.of());
  }

  /** Asks the kernel what it can do beyond plain DNAT, changing nothing. */
  public NodePlanner.Kernel kernel() {
    try {
      nft.check(RulesetRenderer.ftpHelperProbe());
      return new NodePlanner.Kernel(true);
    } catch (Nft.NftException missing) {
      return new NodePlanner.Kernel(false);
    }
  }

  /**
   * Removes the table when this node is known to hold no forward (the last sync applied none and
   * the kernel refused none), and says whether it did. An agent stopping for good (an uninstalled
   * DaemonSet) then leaves nothing behind, while one restarted with forwards keeps them flowing.
   */
  public synchronized boolean removeTableIfEmpty() {
    if (applied == null || !applied.isEmpty() || !refused.isEmpty()) {
      return false;
    }
    cleanup();
    return true;
  }

  private String listingOrNull() {
    try {
      return nft.listTable();
    } catch (Nft.NftException e) {
      return null;
    }
  }

  /** Removes the table: the agent's cleanup mode. */
  public synchronized void cleanup() {
    nft.deleteTable();
    applied = null;
    kernelListing = null;
    refused.clear();
  }
}
