package dev.portforward.agent;

import dev.portforward.agent.nft.Conntrack;
import dev.portforward.agent.nft.Nft;
import dev.portforward.agent.nft.RulesetRenderer;
import java.util.List;
import java.util.Objects;

/**
 * Keeps the kernel's table equal to the desired forwards. A sync with nothing changed reads the
 * table once and writes nothing; a changed desired state, or a table someone else changed (drift),
 * is replaced whole in one transaction; a failed transaction leaves the previous rules in force
 * and forces a full apply on the next sync.
 */
public final class NodeSync {

  /** What one sync did, for the node's report and for metrics. */
  public record Outcome(boolean applied, boolean programmed, String error) {}

  private final Nft nft;
  private final Conntrack conntrack;
  private List<NodeForward> applied = List.of();
  private String appliedRuleset;
  /** The kernel's own listing right after our last successful apply: drift is any difference. */
  private String kernelAfterApply;

  public NodeSync(Nft nft) {
    this.nft = nft;
    this.conntrack = new Conntrack(nft);
  }

  public synchronized Outcome sync(List<NodeForward> desired) {
    String ruleset = RulesetRenderer.render(desired);
    try {
      boolean unchanged = ruleset.equals(appliedRuleset) && Objects.equals(nft.listTable(), kernelAfterApply);
      if (unchanged) {
        return new Outcome(false, true, null);
      }
      nft.apply(ruleset);
      kernelAfterApply = nft.listTable();
      appliedRuleset = ruleset;
      conntrack.forgetRemovedBackends(applied, desired);
      applied = List.copyOf(desired);
      return new Outcome(true, true, null);
    } catch (Nft.NftException e) {
      appliedRuleset = null;
      return new Outcome(false, false, e.getMessage());
    }
  }

  /** Removes the table: the agent's cleanup mode. */
  public synchronized void cleanup() {
    nft.deleteTable();
    appliedRuleset = null;
    kernelAfterApply = null;
    applied = List.of();
  }
}
