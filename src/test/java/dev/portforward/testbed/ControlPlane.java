package dev.portforward.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.awaitility.Awaitility;

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager
 * built from their upstream Go modules by test-cluster/build.sh. Clients authenticate with a
 * static token; the API server's own self-signed certificate is the trust anchor.
 *
 * <p>For real nodes ({@link #startForNodes}) the API server serves on the host end of the nodes'
 * network instead (its certificate names that address), is the kubernetes Service's endpoint,
 * authorizes kubelets as nodes and reaches them by their InternalIP with a client certificate
 * they trust; kube-scheduler runs, and the controller-manager also runs what nodes, DaemonSets,
 * Services and service account tokens in pods need.
 */
public final class ControlPlane implements AutoCloseable {

  public static final String ADMIN_TOKEN = "admin-" + UUID.randomUUID();
  private static final Duration READY_TIMEOUT = Duration.ofMinutes(2);

  private final Path bin;
  private final Path dir;
  private final int etcdPort;
  private final int etcdPeerPort;
  private final int apiPort;
  private final List<Process> processes = new ArrayList<>();
  /** Null on loopback. */
  private final NodeAccess nodes;
  /** On loopback: the address the API server advertises into its endpoints; null for none. */
  private final String advertised;
  private Process apiServer;
  private Process etcd;

  /**
   * How real nodes reach the control plane: the API server's address on the nodes' network, and
   * the names of the nodes that may register (each gets its own token, {@link #nodeToken}).
   */
  public record NodeAccess(String address, List<String> nodeNames, String serviceCidr) {}

  private ControlPlane(Path bin, Path dir, NodeAccess nodes, String advertised) {
    this.bin = bin;
    this.dir = dir;
    this.nodes = nodes;
    this.advertised = advertised;
    this.etcdPort = freePort();
    this.etcdPeerPort = freePort();
    this.apiPort = freePort();
  }

  /** Builds (or finds cached) binaries, starts the control plane and waits until it is ready. */
  public static ControlPlane start(Path dir) throws IOException, InterruptedException {
    return start(new ControlPlane(binaries(), dir, null, null));
  }

  /**
   * A loopback control plane whose API server advertises {@code address} and keeps the
   * {@code kubernetes} Service's endpoints (the one {@link #start} makes has none), as a cluster's
   * does. The address is only written into those endpoints: nothing here dials it, so it need
   * not be this host's.
   */
  public static ControlPlane startAdvertising(Path dir, String address) throws IOException, InterruptedException {
    return start(new ControlPlane(binaries(), dir, null, address));
  }

  /** Starts a control plane for real nodes, serving on {@code access.address()} (see the class comment). */
  public static ControlPlane startForNodes(Path dir, NodeAccess access) throws IOException, InterruptedException {
    return start(new ControlPlane(binaries(), dir, access, null));
  }

  private static ControlPlane start(ControlPlane cp) throws IOException, InterruptedException {
    Runtime.getRuntime().addShutdownHook(new Thread(cp::close));
    try {
      cp.startAll();
    } catch (IOException | InterruptedException | RuntimeException e) {
      cp.close();
      throw e;
    }
    return cp;
  }

  /** The binaries directory: -Dtestbed.bin, or whatever test-cluster/build.sh builds or finds. */
  public static Path binaries() throws IOException, InterruptedException {
    String configured = System.getProperty("testbed.bin", System.getenv("TESTBED_BIN"));
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    Process build = new ProcessBuilder("bash", projectRoot().resolve("test-cluster/build.sh").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (build.waitFor() != 0) {
      throw new IllegalStateException("test-cluster/build.sh failed; see its output above");
    }
    return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
  }

  public static Path projectRoot() {
    Path here = Path.of("").toAbsolutePath();
    while (here != null && !Files.exists(here.resolve("pom.xml"))) {
      here = here.getParent();
    }
    if (here == null) {
      throw new IllegalStateException("no pom.xml above " + Path.of("").toAbsolutePath());
    }
    return here;
  }

  private void startAll() throws IOException, InterruptedException {
    Files.createDirectories(dir.resolve("certs"));
    StringBuilder tokens = new StringBuilder(ADMIN_TOKEN + ",admin,admin,system:masters\n");
    if (nodes != null) {
      for (String node : nodes.nodeNames()) {
        tokens.append(nodeToken(node)).append(",system:node:").append(node).append(",node-").append(node)
            .append(",system:nodes\n");
      }
      KubeletPki.write(dir.resolve("pki"));
    }
    Files.writeString(dir.resolve("tokens.csv"), tokens);
    writeServiceAccountKey(dir.resolve("sa.key"));
    startEtcd();
    startApiServer();
    writeKubeconfig();
    String controllers = "garbagecollector,namespace,serviceaccount,serviceaccount-token,deployment,replicaset";
    if (nodes != null) {
      // What pods on real nodes need: the not-ready taint lifted, kube-root-ca.crt in every
      // namespace, DaemonSets, EndpointSlices for Services, finished pods collected, quota status
      // computed (the chart's ResourceQuota for the agent's priority class admits nothing until it
      // is), and Jobs run (the chart's uninstall hook is one).
      controllers += ",node-lifecycle-controller,root-ca-certificate-publisher-controller,daemonset-controller,"
          + "endpointslice-controller,endpointslice-mirroring-controller,pod-garbage-collector-controller,"
          + "resourcequota-controller,job-controller";
    }
    processes.add(launch("kube-controller-manager",
        bin.resolve("kube-controller-manager").toString(),
        "--kubeconfig=" + kubeconfig(),
        "--controllers=" + controllers,
        // A stopped kubelet makes its node NotReady within seconds (50 s by default); the kubelets
        // renew their leases every 2 s (RealNode).
        "--node-monitor-period=2s",
        "--node-monitor-grace-period=16s",
        "--service-account-private-key-file=" + dir.resolve("sa.key"),
        "--root-ca-file=" + caFile(),
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        "--secure-port=0"));
    if (nodes != null) {
      processes.add(launch("kube-scheduler",
          bin.resolve("kube-scheduler").toString(),
          "--kubeconfig=" + kubeconfig(),
          "--leader-elect=false",
          "--secure-port=0"));
    }
  }

  /** The token node {@code name} authenticates with, as system:node:{@code name} in group system:nodes. */
  public static String nodeToken(String name) {
    return "node-" + name + "-" + ADMIN_TOKEN.substring("admin-".length());
  }

  /** Starts etcd (again, after {@link #stopEtcd}, on the same data) and waits until it is healthy. */
  public void startEtcd() throws IOException {
    etcd = launch("etcd",
        bin.resolve("etcd").toString(),
        "--name=testbed",
        "--data-dir=" + dir.resolve("etcd"),
        "--listen-client-urls=http://127.0.0.1:" + etcdPort,
        "--advertise-client-urls=http://127.0.0.1:" + etcdPort,
        "--listen-peer-urls=http://127.0.0.1:" + etcdPeerPort,
        "--initial-advertise-peer-urls=http://127.0.0.1:" + etcdPeerPort,
        "--initial-cluster=testbed=http://127.0.0.1:" + etcdPeerPort,
        "--unsafe-no-fsync");
    // First in the list, so that close() stops it after everything that talks to it.
    processes.add(0, etcd);
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + etcdPort + "/health"))
        .timeout(Duration.ofSeconds(5))
        .build();
    Awaitility.await("etcd healthy (log: " + dir.resolve("etcd.log") + ")")
        .atMost(READY_TIMEOUT)
        .pollInterval(Duration.ofMillis(200))
        .failFast("etcd exited", () -> !etcd.isAlive())
        .ignoreExceptionsInstanceOf(IOException.class)
        .until(() -> http.send(health, HttpResponse.BodyHandlers.ofString()).body().contains("\"health\":\"true\""));
  }

  /** Stops etcd (SIGTERM) and waits until it has exited; its data directory stays. */
  public void stopEtcd() throws InterruptedException {
    etcd.destroy();
    etcd.waitFor();
    processes.remove(etcd);
  }

  /** Starts the API server (again, after {@link #stopApiServer}) and waits until it is ready. */
  public void startApiServer() throws IOException {
    List<String> command = new ArrayList<>(List.of(
        bin.resolve("kube-apiserver").toString(),
        "--etcd-servers=http://127.0.0.1:" + etcdPort,
        "--secure-port=" + apiPort,
        "--cert-dir=" + dir.resolve("certs"),
        "--token-auth-file=" + dir.resolve("tokens.csv"),
        "--service-account-issuer=https://kubernetes.default.svc",
        "--service-account-key-file=" + dir.resolve("sa.key"),
        "--service-account-signing-key-file=" + dir.resolve("sa.key"),
        "--allow-privileged=true"));
    if (nodes == null) {
      command.addAll(List.of(
          "--bind-address=127.0.0.1",
          "--authorization-mode=RBAC",
          "--service-cluster-ip-range=10.96.0.0/16"));
      // No default route on these machines: name the address, and keep it out of Endpoints
      // (which refuse loopback) unless another one is to be advertised.
      command.addAll(advertised == null
          ? List.of("--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none")
          : List.of("--advertise-address=" + advertised));
    } else {
      command.addAll(List.of(
          // Only on the nodes' network; the self-signed certificate names this address.
          "--bind-address=" + nodes.address(),
          "--advertise-address=" + nodes.address(),
          "--authorization-mode=Node,RBAC",
          "--enable-admission-plugins=NodeRestriction",
          "--service-cluster-ip-range=" + nodes.serviceCidr(),
          // Never resolve a node's name through the machine's DNS: dial its InternalIP.
          "--kubelet-preferred-address-types=InternalIP",
          // Webhooks (the chart's sidecar injection) are called at a ready endpoint of their
          // Service, a pod address the machine routes to its node: cluster IPs exist only inside
          // the nodes (kube-proxy), and the machine would send them out by its default route.
          "--enable-aggregator-routing=true",
          "--kubelet-client-certificate=" + KubeletPki.clientCertificate(dir.resolve("pki")),
          "--kubelet-client-key=" + KubeletPki.clientKey(dir.resolve("pki"))));
    }
    apiServer = launch("kube-apiserver", command.toArray(String[]::new));
    processes.add(apiServer);
    awaitReady();
  }

  /** Stops the API server only; etcd and the data kept in it stay. */
  public void stopApiServer() throws InterruptedException {
    apiServer.destroy();
    apiServer.waitFor();
    processes.remove(apiServer);
  }

  public String url() {
    return "https://" + (nodes == null ? "127.0.0.1" : nodes.address()) + ":" + apiPort;
  }

  /** The CA kubelets trust for clients (the API server's client certificate); null on loopback. */
  public Path kubeletClientCaFile() {
    return nodes == null ? null : KubeletPki.ca(dir.resolve("pki"));
  }

  public Path binDirectory() {
    return bin;
  }

  public Path caFile() {
    return dir.resolve("certs/apiserver.crt");
  }

  public Path kubeconfig() {
    return dir.resolve("kubeconfig");
  }

  public Path directory() {
    return dir;
  }

  public Path kubectl() {
    return bin.resolve("kubectl");
  }

  @Override
  public synchronized void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      Process p = processes.get(i);
      p.destroy();
      try {
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    processes.clear();
  }

  private Process launch(String name, String... command) throws IOException {
    Path log = dir.resolve(name + ".log");
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  private void awaitReady() {
    HttpClient http = HttpClient.newBuilder().sslContext(trustAll()).build();
    HttpRequest readyz = HttpRequest.newBuilder(URI.create(url() + "/readyz"))
        .header("Authorization", "Bearer " + ADMIN_TOKEN)
        .timeout(Duration.ofSeconds(5))
        .build();
    Awaitility.await("kube-apiserver ready (log: " + dir.resolve("kube-apiserver.log") + ")")
        .atMost(READY_TIMEOUT)
        .pollInterval(Duration.ofMillis(200))
        .failFast("kube-apiserver exited", () -> !apiServer.isAlive())
        .ignoreExceptionsInstanceOf(IOException.class)
        .until(() -> http.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
  }

  /** A kubeconfig like the admin's but authenticating with {@code token}, written beside it as {@code name}. */
  public Path kubeconfigWithToken(String name, String token) throws IOException {
    Path file = dir.resolve("kubeconfig-" + name);
    Files.writeString(file, Files.readString(kubeconfig()).replace("token: " + ADMIN_TOKEN, "token: " + token));
    return file;
  }

  private void writeKubeconfig() throws IOException {
    Files.writeString(kubeconfig(), """
        apiVersion: v1
        kind: Config
        clusters:
        - name: testbed
          cluster:
            server: %s
            certificate-authority: %s
        users:
        - name: admin
          user:
            token: %s
        contexts:
        - name: testbed
          context:
            cluster: testbed
            user: admin
            namespace: default
        current-context: testbed
        """.formatted(url(), caFile(), ADMIN_TOKEN));
  }

  private static void writeServiceAccountKey(Path file) throws IOException {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048, new SecureRandom());
      byte[] pkcs8 = generator.generateKeyPair().getPrivate().getEncoded();
      String pem = "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(pkcs8)
          + "\n-----END PRIVATE KEY-----\n";
      Files.writeString(file, pem);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Only for the readiness probe, before the server has written its certificate. */
  private static SSLContext trustAll() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new X509TrustManager() {
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
        @Override public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, new SecureRandom());
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A TCP port on loopback that nothing listens on now. */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
