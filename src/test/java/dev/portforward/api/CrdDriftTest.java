package dev.portforward.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CRDs users install (crds/) are exactly what the build generates from the Java model, and the
 * chart's copies (files/crds/, templated so that helm upgrade upgrades them) are exactly crds/, so
 * none of them can drift apart. Fix a failure with:
 * cp target/classes/META-INF/fabric8/*.yml crds/ && cp crds/*.yml helm/portforward-operator/files/crds/
 */
class CrdDriftTest {

  private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
  private static final Path COMMITTED = Path.of("crds");
  private static final Path IN_CHART = Path.of("helm/portforward-operator/files/crds");

  @Test
  void committedCrdsMatchTheGeneratedOnes() throws Exception {
    assertSameFiles(COMMITTED, GENERATED);
  }

  @Test
  void theChartShipsExactlyTheCommittedCrds() throws Exception {
    assertSameFiles(IN_CHART, COMMITTED);
    // Helm installs a chart's crds/ folder before its templates, which then hold the same CRDs.
    assertThat(Path.of("helm/portforward-operator/crds")).as("CRDs belong in %s, not in the chart's crds/", IN_CHART)
        .doesNotExist();
  }

  private static void assertSameFiles(Path copy, Path source) throws Exception {
    assertThat(names(copy)).as("files in %s", copy).isEqualTo(names(source));
    for (String name : names(source)) {
      assertThat(Files.readString(copy.resolve(name)))
          .as("%s/%s is stale: cp %s %s/", copy, name, source.resolve(name), copy)
          .isEqualTo(Files.readString(source.resolve(name)));
    }
  }

  private static List<String> names(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")).sorted().toList();
    }
  }
}
