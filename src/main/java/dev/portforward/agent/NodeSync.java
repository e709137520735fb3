package dev.portforward.agent;

import dev.portforward.agent.nft.Conntrack;
import dev.portforward.agent.nft.FlowCuts;
import dev.portforward.agent.nft.Nft;
import dev.portforward.agent.nft.RulesetRenderer;
import dev.portforward.agent.nft.TableListing;
import java.util.List;

/**
 * Keeps the kernel's table equal to the desired forwards. A change touches only the forwards that
 * changed, in one transaction; an unchanged desired state performs no operation at all. The
 * periodic {@link #verify} compares the kernel's table with what it should hold and replaces it
 * whole when someone changed it (drift) or when it cannot tell (after partial updates); a failed
 * transaction leaves the previous rules in force and forces a whole replacement next time.
 * After the rules change, the established flows they no longer allow are cut ({@link Conntrack}).
 */
public final class NodeSync {

  /** What one sync did, for the node's report. */
  public record Outcome(boolean applied, boolean programmed, String error) {}

  private final Nft nft;
  private final Conntrack conntrack;
  /** What the kernel holds, as far as this agent knows; null when it cannot know (start, failure). */
  private List<NodeForward> applied;
  /** The kernel's own listing right after the last whole replacement; null after partial updates. */
  private String kernelAfterReplace;

  public NodeSync(Nft nft) {
    this.nft = nft;
    this.conntrack = new Conntrack(nft);
  }

  /** Brings the kernel to {@code desired} with the least work. */
  public synchronized Outcome sync(List<NodeForward> desired) {
    if (applied == null) {
      return replace(desired);
    }
    if (applied.equals(desired)) {
      return new Outcome(false, true, null);
    }
    try {
      nft.apply(RulesetRenderer.update(applied, desired));
      kernelAfterReplace = null;
      return done(desired);
    } catch (Nft.NftException e) {
      applied = null;
      return new Outcome(false, false, e.getMessage());
    }
  }

  /** Like {@link #sync}, but first checks the kernel's table and repairs any drift. */
  public synchronized Outcome verify(List<NodeForward> desired) {
    try {
      if (applied == null || kernelAfterReplace == null || !kernelAfterReplace.equals(nft.listTable())) {
        return replace(desired);
      }
    } catch (Nft.NftException e) {
      return new Outcome(false, false, e.getMessage());
    }
    return sync(desired);
  }

  private Outcome replace(List<NodeForward> desired) {
    try {
      // After a start or a failure, the kernel's table is the only record of what was forwarded.
      List<FlowCuts.Dnat> tableBefore = applied == null ? TableListing.forwards(nft.listTableJson()) : null;
      nft.apply(RulesetRenderer.render(desired));
      kernelAfterReplace = nft.listTable();
      if (tableBefore != null) {
        conntrack.cut(tableBefore, desired);
      }
      return done(desired);
    } catch (Nft.NftException e) {
      applied = null;
      return new Outcome(false, false, e.getMessage());
    }
  }

  private Outcome done(List<NodeForward> desired) {
    if (applied != null) {
      conntrack.cut(FlowCuts.changed(applied, desired), desired);
    }
    applied = List.copyOf(desired);
    return new Outcome(true, true, null);
  }

  /** Removes the table: the agent's cleanup mode. */
  public synchronized void cleanup() {
    nft.deleteTable();
    applied = null;
    kernelAfterReplace = null;
  }
}
