package dev.portforward.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The chart in helm/ installed, upgraded and uninstalled with the helm that test-cluster/build.sh
 * builds, as users do, on a {@link NodeCluster} whose nodes hold the project image.
 */
public final class HelmRelease {

  /** The name the project image (test-cluster/image/build.sh, tag "ci") is imported under. */
  public static final String IMAGE_REPOSITORY = "portforward.dev/portforward-operator";
  public static final String IMAGE_TAG = "ci";

  private final ControlPlane cp;
  private final String release;
  private final String namespace;

  public HelmRelease(ControlPlane cp, String release, String namespace) {
    this.cp = cp;
    this.release = release;
    this.namespace = namespace;
  }

  public String name() {
    return release;
  }

  public String namespace() {
    return namespace;
  }

  /** helm install, into a new namespace, with the imported image and {@code values} (--set). */
  public String install(String... values) throws IOException, InterruptedException {
    return helm("install", List.of("--create-namespace"), values);
  }

  /** helm upgrade with {@code values} (--set), keeping the image settings. */
  public String upgrade(String... values) throws IOException, InterruptedException {
    return helm("upgrade", List.of(), values);
  }

  public String uninstall() throws IOException, InterruptedException {
    return run(List.of("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "3m"));
  }

  private String helm(String verb, List<String> flags, String... values) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of(verb, release,
        ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(), "--namespace", namespace,
        "--set", "image.repository=" + IMAGE_REPOSITORY, "--set", "image.tag=" + IMAGE_TAG,
        "--set", "image.pullPolicy=Never"));
    args.addAll(flags);
    for (String value : values) {
      args.addAll(List.of("--set", value));
    }
    return run(args);
  }

  private String run(List<String> args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(cp.binDirectory().resolve("helm").toString(),
        "--kubeconfig", cp.kubeconfig().toString()));
    command.addAll(args);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("helm " + String.join(" ", args) + " failed: " + out);
    }
    return out;
  }

  /**
   * The project image as test-cluster/image/build.sh writes it, for {@link RealNode.Image}: built
   * unless the tarball there was built from the same sources (main sources, pom.xml, the image
   * scripts; their hash is kept beside it).
   */
  public static RealNode.Image projectImage() throws IOException, InterruptedException {
    Path root = ControlPlane.projectRoot();
    Path tar = root.resolve("target/image/portforward-operator.tar");
    Path keyFile = root.resolve("target/image/portforward-operator.tar.sources");
    String key = sourcesHash(root);
    if (!Files.exists(tar) || !Files.exists(keyFile) || !Files.readString(keyFile).equals(key)) {
      Process build = new ProcessBuilder("bash", root.resolve("test-cluster/image/build.sh").toString())
          .directory(root.toFile())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      if (!build.waitFor(15, TimeUnit.MINUTES) || build.exitValue() != 0) {
        throw new IllegalStateException("test-cluster/image/build.sh failed; see its output above");
      }
      Files.writeString(keyFile, key);
    }
    return new RealNode.Image(tar, IMAGE_REPOSITORY);
  }

  private static String sourcesHash(Path root) throws IOException {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      List<Path> files = new ArrayList<>(List.of(root.resolve("pom.xml")));
      for (Path dir : List.of(root.resolve("src/main"), root.resolve("test-cluster/image"))) {
        try (Stream<Path> tree = Files.walk(dir)) {
          tree.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
      }
      for (Path file : files) {
        digest.update(root.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
        digest.update(Files.readAllBytes(file));
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
