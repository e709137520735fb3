package dev.portforward.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The conformance runner's list of skipped tests, and the README's table of it. */
class SkippedTestsTest {

  @Test
  void theReadmeListsEverySkipWithTheSameReason() throws Exception {
    SkippedTests skipped = SkippedTests.read();

    assertThat(skipped.names()).isNotEmpty();
    assertThat(readmeTable()).as("docs/conformance/README.md, \"Skipped tests\", against %s", SkippedTests.FILE)
        .containsExactlyEntriesOf(skipped.reasons());
  }

  @Test
  void theSkippedTestsJoinThoseOfAGivenSkipTestsFlag() {
    SkippedTests skipped = SkippedTests.parse("""
        # a comment

        TCPRouteReferenceGrant  needs a backend in another namespace
        GatewayModifyListeners  needs HTTP listeners
        """);

    assertThat(skipped.reasons()).containsExactly(Map.entry("TCPRouteReferenceGrant", "needs a backend in another namespace"),
        Map.entry("GatewayModifyListeners", "needs HTTP listeners"));
    assertThat(skipped.addTo(List.of("-mode=default", "-skip-tests=UDPRoute,GatewayModifyListeners", "-debug")))
        .containsExactly("-mode=default", "-debug",
            "-skip-tests=TCPRouteReferenceGrant,GatewayModifyListeners,UDPRoute");
    assertThat(skipped.addTo(List.of("--skip-tests=UDPRoute")))
        .containsExactly("-skip-tests=TCPRouteReferenceGrant,GatewayModifyListeners,UDPRoute");
    assertThat(skipped.addTo(List.of())).containsExactly("-skip-tests=TCPRouteReferenceGrant,GatewayModifyListeners");
  }

  @Test
  void aTestWithoutAReasonOrListedTwiceIsRefused() {
    assertThatThrownBy(() -> SkippedTests.parse("GatewayModifyListeners\n"))
        .hasMessageContaining("GatewayModifyListeners has no reason");
    assertThatThrownBy(() -> SkippedTests.parse("UDPRoute why\nUDPRoute why again\n"))
        .hasMessageContaining("UDPRoute is listed twice");
  }

  /** The rows "| name | reason |" of the README's "Skipped tests" section. */
  private static Map<String, String> readmeTable() throws Exception {
    Map<String, String> rows = new LinkedHashMap<>();
    boolean inSection = false;
    for (String line : Files.readAllLines(ControlPlane.projectRoot().resolve("docs/conformance/README.md"))) {
      if (line.startsWith("## ")) {
        inSection = line.equals("## Skipped tests");
      } else if (inSection && line.startsWith("| ") && !line.startsWith("| Test ") && !line.startsWith("| ---")) {
        String[] cells = line.substring(1, line.length() - 1).split("\\|");
        rows.put(cells[0].strip(), cells[1].strip());
      }
    }
    return rows;
  }
}
