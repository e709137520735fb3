package dev.portforward.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The certificates between the API server and kubelets, made with openssl: a CA that kubelets
 * trust for clients, and the API server's client certificate signed by it (group system:masters),
 * so that kubelets authenticate the API server by certificate and authorize it by webhook.
 */
final class KubeletPki {

  static Path ca(Path dir) {
    return dir.resolve("kubelet-client-ca.crt");
  }

  static Path clientCertificate(Path dir) {
    return dir.resolve("apiserver-kubelet-client.crt");
  }

  static Path clientKey(Path dir) {
    return dir.resolve("apiserver-kubelet-client.key");
  }

  /** Writes the CA and the API server's client certificate into {@code dir}. */
  static void write(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path caKey = dir.resolve("kubelet-client-ca.key");
    Path csr = dir.resolve("apiserver-kubelet-client.csr");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=testbed-kubelet-client-ca",
        "-keyout", caKey.toString(), "-out", ca(dir).toString());
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=system:masters/CN=kube-apiserver-kubelet-client",
        "-keyout", clientKey(dir).toString(), "-out", csr.toString());
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", ca(dir).toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-days", "2", "-out", clientCertificate(dir).toString());
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
    }
  }

  private KubeletPki() {}
}
