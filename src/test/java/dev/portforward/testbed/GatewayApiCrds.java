package dev.portforward.testbed;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The upstream Gateway API CRDs the models are generated from (src/main/crds/gateway-api/),
 * installed in the test bed's API server as users install them. Not part of {@link RealCluster}'s
 * start-up: only the tests of the Gateway API ask for them, and applying the same files again is a
 * no-op, so each of those tests installs them itself.
 */
public final class GatewayApiCrds {

  /** Where the committed upstream CRD files are. */
  public static final Path DIR = ControlPlane.projectRoot().resolve("src/main/crds/gateway-api");

  private GatewayApiCrds() {}

  /** Applies every Gateway API CRD file (server-side) and waits until each is established. */
  public static void install(KubernetesClient client) throws Exception {
    for (Path file : files()) {
      RealCluster.applyCrd(client, file);
    }
  }

  /** The CRD files, sorted by name. */
  public static List<Path> files() throws IOException {
    try (Stream<Path> files = Files.list(DIR)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".yaml")).sorted().toList();
    }
  }
}
