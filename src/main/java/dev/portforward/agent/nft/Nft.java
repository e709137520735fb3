package dev.portforward.agent.nft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Runs the nft command. A command prefix (such as {@code ip netns exec NODE}) lets the agent
 * program a network namespace other than its own; in a cluster it is empty.
 */
public final class Nft {

  /**
   * Runs one command (nft, conntrack) with {@code stdin} (may be null) and returns what it printed
   * (standard output, with standard error when {@code withErrors}); a failure is an
   * {@link NftException}. The scale benchmark's hollow nodes record instead of running.
   */
  @FunctionalInterface
  public interface Commands {
    String run(String stdin, boolean withErrors, List<String> command);
  }

  private static final long TIMEOUT_SECONDS = 30;
  /** Errors end up in a node report, whose messages the CRD bounds at 1024 characters. */
  private static final int MAX_ERROR = 512;

  /** Threads that read a command's output while it runs: they block, so not the common pool's. */
  private static final ExecutorService READERS = Executors.newCachedThreadPool(task -> {
    Thread reader = new Thread(task, "nft-output");
    reader.setDaemon(true);
    return reader;
  });

  private final Commands commands;

  public Nft(List<String> prefix) {
    List<String> fixed = List.copyOf(prefix);
    this.commands = (stdin, withErrors, command) -> run(fixed, stdin, withErrors, command);
  }

  public Nft(Commands commands) {
    this.commands = commands;
  }

  /**
   * Applies a ruleset as one transaction: all of it, or (on any error) none of it.
   *
   * <p>nft reads it from a file written whole before nft starts, never from a pipe: nft commits
   * whatever it read up to the end of its input, so an agent killed while writing a pipe would
   * hand the kernel a shorter transaction that may still be valid (the deletions of an update
   * without what replaces them, or a replacement's "delete table" alone).
   */
  public void apply(String ruleset) {
    Path script = null;
    try {
      script = Files.createTempFile("portforward-", ".nft");
      Files.writeString(script, ruleset);
      run(null, "nft", "-f", script.toString());
    } catch (IOException e) {
      throw new NftException("writing the ruleset for nft: " + e.getMessage());
    } finally {
      deleteQuietly(script);
    }
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // A leftover in the temporary directory (the pod's emptyDir) is harmless.
    }
  }

  /** Asks the kernel whether it would accept a ruleset as one transaction, changing nothing (nft -c). */
  public void check(String ruleset) {
    run(ruleset, "nft", "-c", "-f", "-");
  }

  /**
   * The agent's table as the kernel holds it now (nft JSON), less what traffic writes into it
   * (see {@link TableListing#withoutLearntElements}), or an empty string when there is none: two
   * listings are equal exactly when the rules are.
   */
  public String listTable() {
    return TableListing.withoutLearntElements(listTableJson());
  }

  /** The agent's table as data ({@code nft -j}), or an empty string when there is none. */
  public String listTableJson() {
    try {
      return output("nft", "-j", "list", "table", "inet", RulesetRenderer.TABLE);
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

  /** Runs a command (nft, conntrack) under the prefix; stdin may be null. Returns what it printed on both streams. */
  String run(String stdin, String... command) {
    return commands.run(stdin, true, List.of(command));
  }

  /**
   * Runs a command that prints data, and returns its standard output alone: conntrack prints a
   * summary line on standard error, which must not end up inside the data.
   */
  String output(String... command) {
    return commands.run(null, false, List.of(command));
  }

  private static String run(List<String> prefix, String stdin, boolean withErrors, List<String> command) {
    List<String> full = new ArrayList<>(prefix);
    full.addAll(command);
    try {
      Process process = new ProcessBuilder(full).redirectErrorStream(withErrors).start();
      // Read while writing: a command that answers each input line (conntrack -R) would otherwise
      // fill its output pipe and wait for us while we wait for it to read.
      CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()), READERS);
      CompletableFuture<String> errors = withErrors ? CompletableFuture.completedFuture("")
          : CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()), READERS);
      try (OutputStream in = process.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      } catch (IOException exitedWithoutReading) {
        // The command stopped before reading its input; its output and exit code say why.
      }
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new NftException(String.join(" ", command) + ": no answer in " + TIMEOUT_SECONDS + "s");
      }
      String out = output.join();
      if (process.exitValue() != 0) {
        String said = (withErrors ? out : errors.join()).strip().lines().limit(5).reduce((a, b) -> a + "; " + b).orElse("");
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

  private static String readAll(InputStream stream) {
    try {
      return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** A failed nft or conntrack command, with what the command said. */
  public static final class NftException extends RuntimeException {
    NftException(String message) {
      super(message);
    }
  }
}
