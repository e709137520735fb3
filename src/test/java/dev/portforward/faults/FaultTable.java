package dev.portforward.faults;

import dev.portforward.testbed.ControlPlane;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fault suite's one table: each case adds the row of what it held and what survived, and the
 * whole table so far is printed and written to target/faults/report.txt at once, so that a run
 * stopped half way still leaves the rows it reached. docs/faults.md keeps the latest table.
 */
final class FaultTable {

  /**
   * One case's figures.
   *
   * @param load what the case held while the fault struck (changes per second, connections)
   * @param measured what it measured (time until every status was right again, and the like), never asserted
   * @param updatesLost changes a client was told were stored whose effect never showed (asserted 0)
   * @param droppedConnections connections that broke but should not have (asserted 0)
   */
  record Row(String fault, String load, String measured, int updatesLost, int droppedConnections) {}

  private static final List<Row> ROWS = new ArrayList<>();
  private static final Path REPORT = ControlPlane.projectRoot().resolve("target/faults/report.txt");

  private FaultTable() {}

  /** Adds a row, then prints the table and writes it to target/faults/report.txt. */
  static synchronized void add(Row row) {
    ROWS.add(row);
    String table = render(ROWS);
    System.out.println("\nFault suite so far:\n" + table);
    try {
      Files.createDirectories(REPORT.getParent());
      Files.writeString(REPORT, table);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A Markdown table, readable as text and pasted as is into docs/faults.md. */
  static String render(List<Row> rows) {
    List<String[]> cells = new ArrayList<>();
    cells.add(new String[] {"fault", "load held", "measured", "updates lost", "connections dropped"});
    rows.forEach(r -> cells.add(new String[] {r.fault(), r.load(), r.measured(), String.valueOf(r.updatesLost()),
        String.valueOf(r.droppedConnections())}));
    int[] widths = new int[5];
    cells.forEach(line -> {
      for (int i = 0; i < widths.length; i++) {
        widths[i] = Math.max(widths[i], line[i].length());
      }
    });
    StringBuilder out = new StringBuilder();
    for (int n = 0; n < cells.size(); n++) {
      out.append(line(cells.get(n), widths));
      if (n == 0) {
        String[] rule = new String[widths.length];
        for (int i = 0; i < widths.length; i++) {
          rule[i] = "-".repeat(widths[i]);
        }
        out.append(line(rule, widths));
      }
    }
    return out.toString();
  }

  private static String line(String[] cells, int[] widths) {
    StringBuilder out = new StringBuilder("|");
    for (int i = 0; i < cells.length; i++) {
      out.append(' ').append(cells[i]).append(" ".repeat(widths[i] - cells[i].length())).append(" |");
    }
    return out.append('\n').toString();
  }
}
