package dev.portforward.agent.nft;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the nft command. A command prefix (such as {@code ip netns exec NODE}) lets the agent
 * program a network namespace other than its own; in a cluster it is empty.
 */
public final class Nft {

  private static final long TIMEOUT_SECONDS = 30;
  /** Errors end up in a node report, whose messages the CRD bounds at 1024 characters. */
  private static final int MAX_ERROR = 512;

  private final List<String> prefix;

  public Nft(List<String> prefix) {
    this.prefix = List.copyOf(prefix);
  }

  /** Applies a ruleset as one transaction: all of it, or (on any error) none of it. */
  public void apply(String ruleset) {
    run(ruleset, "nft", "-f", "-");
  }

  /** Asks the kernel whether it would accept a ruleset as one transaction, changing nothing (nft -c). */
  public void check(String ruleset) {
    run(ruleset, "nft", "-c", "-f", "-");
  }

  /** The agent's table as the kernel holds it now, or an empty string when there is none. */
  public String listTable() {
    try {
      return run(null, "nft", "list", "table", "inet", RulesetRenderer.TABLE);
    } catch (NftException e) {
      if (e.getMessage().contains("No such file or directory")) {
        return "";
      }
      throw e;
    }
  }

  /** Removes the agent's table; other tables are never touched. */
  public void deleteTable() {
    apply(RulesetRenderer.cleanup());
  }

  /** Runs a command (nft, conntrack) under the prefix; stdin may be null. */
  String run(String stdin, String... command) {
    List<String> full = new ArrayList<>(prefix);
    full.addAll(List.of(command));
    try {
      Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
      try (OutputStream in = process.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      } catch (IOException exitedWithoutReading) {
        // The command stopped before reading its input; its output and exit code say why.
      }
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new NftException(String.join(" ", command) + ": no answer in " + TIMEOUT_SECONDS + "s");
      }
      if (process.exitValue() != 0) {
        String said = out.strip().lines().limit(5).reduce((a, b) -> a + "; " + b).orElse("");
        throw new NftException(String.join(" ", command) + " failed (exit " + process.exitValue() + "): "
            + (said.length() > MAX_ERROR ? said.substring(0, MAX_ERROR) + "..." : said));
      }
      return out;
    } catch (IOException e) {
      throw new NftException(String.join(" ", command) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NftException(String.join(" ", command) + ": interrupted");
    }
  }

  /** A failed nft or conntrack command, with what the command said. */
  public static final class NftException extends RuntimeException {
    NftException(String message) {
      super(message);
    }
  }
}
