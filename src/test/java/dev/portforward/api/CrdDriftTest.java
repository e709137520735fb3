package dev.portforward.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CRDs users install (crds/) are exactly what the build generates from the Java model, so the
 * two can never drift apart. Fix a failure with:
 * cp target/classes/META-INF/fabric8/*.yml crds/ && cp crds/*.yml helm/portforward-operator/crds/
 */
class CrdDriftTest {

  private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
  private static final Path COMMITTED = Path.of("crds");

  @Test
  void committedCrdsMatchTheGeneratedOnes() throws Exception {
    assertThat(names(COMMITTED)).as("files in crds/").isEqualTo(names(GENERATED));
    for (String name : names(GENERATED)) {
      assertThat(Files.readString(COMMITTED.resolve(name)))
          .as("crds/%s is stale: cp %s crds/", name, GENERATED.resolve(name))
          .isEqualTo(Files.readString(GENERATED.resolve(name)));
    }
  }

  private static java.util.List<String> names(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")).sorted().toList();
    }
  }
}
