package dev.portforward.operator.tunnels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import dev.portforward.api.v1alpha1.SecretKeyRef;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelSpec;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.api.v1alpha1.TunnelKeepalive;
import dev.portforward.api.v1alpha1.TunnelRemoteForward;
import dev.portforward.tunnel.TunnelServer.ClientView;
import dev.portforward.tunnel.TunnelServer.Report;
import dev.portforward.tunnel.config.TunnelConfig;
import dev.portforward.tunnel.config.TunnelConfigParser;
import dev.portforward.tunnel.config.TunnelUser;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An SSHTunnel's config and objects, as pure functions of the resource. */
class TunnelObjectsTest {

  static final String ALICE_KEY =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJhHT+9kwWAiUdiyZ+t0Zc9S625WZwYy32zHjeAKMH2o alice@laptop";

  static SshTunnel tunnel(SshTunnelUser... users) {
    SshTunnel tunnel = new SshTunnel();
    tunnel.getMetadata().setName("dev");
    tunnel.getMetadata().setNamespace("shop");
    tunnel.getMetadata().setUid("uid-1");
    SshTunnelSpec spec = new SshTunnelSpec();
    spec.setUsers(List.of(users));
    tunnel.setSpec(spec);
    return tunnel;
  }

  static SshTunnelUser user(String name, String secret, int port, String service) {
    SshTunnelUser user = new SshTunnelUser();
    user.setName(name);
    SecretKeyRef keys = new SecretKeyRef();
    keys.setName(secret);
    user.setAuthorizedKeys(keys);
    TunnelRemoteForward forward = new TunnelRemoteForward();
    forward.setPort(port);
    forward.setServiceName(service);
    user.setRemoteForwards(List.of(forward));
    user.setAllowedDestinations(List.of("10.0.0.0/8"));
    return user;
  }

  @Test
  void theRenderedConfigIsOneTheServerAccepts(@TempDir Path keys) throws Exception {
    SshTunnel tunnel = tunnel(user("alice", "alice-keys", 8080, "laptop-web"));
    TunnelKeepalive keepalive = new TunnelKeepalive();
    keepalive.setTimeout("20s");
    tunnel.getSpec().setKeepalive(keepalive);
    String rendered = TunnelConfigs.render(tunnel, List.of("10.96.0.1"));
    // The server reads each user's keys from the Secret mounted at keys/<user>.
    Files.writeString(keys.resolve("alice"), ALICE_KEY + "\n");

    TunnelConfig config = TunnelConfigParser.parse(rendered.replace(TunnelNames.KEYS_DIR, keys.toString()));

    assertThat(config.listen().getPort()).isEqualTo(TunnelNames.SSH_PORT);
    assertThat(config.remoteForwardAddress().getHostAddress()).as("reachable by the Services").isEqualTo("0.0.0.0");
    assertThat(config.keepaliveTimeout()).isEqualTo(Duration.ofSeconds(20));
    TunnelUser alice = config.user("alice").orElseThrow();
    assertThat(alice.remoteForward(8080)).hasValueSatisfying(f -> assertThat(f.name()).isEqualTo("laptop-web"));
    assertThat(alice.authorized("SHA256:rRIdbbwVirbXwp96ZES8x4pOdlgEPwpY/G/xFzpAdFM")).isPresent();
    assertThat(alice.destinations().refusal(InetAddress.getByName("10.1.2.3"), 443)).isEmpty();
    assertThat(alice.destinations().refusal(InetAddress.getByName("10.96.0.1"), 443))
        .contains("denied: in the tunnel's deniedDestinations");
    assertThat(rendered).as("keys stay in their Secret").doesNotContain("ssh-ed25519");
  }

  @Test
  void problemsTheCrdCannotSeeAreNamed() {
    SshTunnel tunnel = tunnel(user("alice", "k", 8080, "web"), user("bob", "k", 8080, "dev-ssh"),
        user("carol", "k", TunnelNames.SSH_PORT, "carol"));

    assertThat(TunnelConfigs.problems(tunnel)).containsExactly(
        "users bob: port 8080 is already alice's",
        "users bob: Service name dev-ssh is already the tunnel's SSH Service's",
        "users carol: port 2222 is the tunnel server's own");
    assertThat(TunnelConfigs.problems(tunnel(user("alice", "k", 8080, "web")))).isEmpty();
  }

  @Test
  void theServerRunsAloneWithItsKeysMountedAndNoApiAccess() {
    SshTunnel tunnel = tunnel(user("alice", "alice-keys", 8080, "web"), user("bob", "team-keys", 8081, "api"));
    tunnel.getSpec().getUsers().get(1).getAuthorizedKeys().setKey("bob");

    Deployment deployment = TunnelWorkload.deployment(tunnel, "example/portforward:1", "IfNotPresent");

    assertThat(deployment.getMetadata().getName()).isEqualTo("dev-tunnel");
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
    assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("Recreate");
    assertThat(deployment.getMetadata().getOwnerReferences()).singleElement()
        .satisfies(owner -> assertThat(owner.getUid()).isEqualTo("uid-1"));
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getContainers().get(0).getArgs()).containsExactly("tunnel", "--config", "/etc/portforward/tunnel/config/tunnel.yaml");
    assertThat(pod.getContainers().get(0).getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("keys")).singleElement()
        .satisfies(v -> assertThat(v.getProjected().getSources()).extracting(
                s -> s.getSecret().getName() + ":" + s.getSecret().getItems().get(0).getKey() + "->" + s.getSecret().getItems().get(0).getPath())
            .containsExactly("alice-keys:authorized_keys->alice", "team-keys:bob->bob"));
    assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("host-key")).singleElement()
        .satisfies(v -> assertThat(v.getSecret().getSecretName()).isEqualTo("dev-host-key"));
  }

  @Test
  void eachRemoteForwardIsAServiceLeadingToItsPortInTheTunnelPod() {
    SshTunnelUser alice = user("alice", "k", 8080, "laptop-web");
    alice.getRemoteForwards().get(0).setServicePort(80);
    SshTunnel tunnel = tunnel(alice);

    List<Service> services = TunnelWorkload.forwardServices(tunnel);
    Service ssh = TunnelWorkload.sshService(tunnel);

    assertThat(services).singleElement().satisfies(service -> {
      assertThat(service.getMetadata().getName()).isEqualTo("laptop-web");
      assertThat(service.getMetadata().getNamespace()).isEqualTo("shop");
      assertThat(service.getSpec().getSelector()).containsEntry(TunnelNames.TUNNEL_LABEL, "dev-tunnel");
      assertThat(service.getSpec().getPorts().get(0).getPort()).isEqualTo(80);
      assertThat(service.getSpec().getPorts().get(0).getTargetPort().getIntVal()).isEqualTo(8080);
    });
    assertThat(ssh.getMetadata().getName()).isEqualTo("dev-ssh");
    assertThat(ssh.getSpec().getPorts().get(0).getPort()).isEqualTo(22);
    assertThat(ssh.getSpec().getPorts().get(0).getTargetPort().getIntVal()).isEqualTo(TunnelNames.SSH_PORT);
  }

  @Test
  void aGeneratedHostKeyIsAnOpenSshKeyTheServerLoads(@TempDir Path dir) throws Exception {
    HostKeys.HostKey key = HostKeys.generate("dev.shop");
    Path file = dir.resolve("host_key");
    Files.writeString(file, key.privateKeyFile());

    var loaded = new FileKeyPairProvider(file).loadKeys(null).iterator().next();

    assertThat(key.privateKeyFile()).startsWith("-----BEGIN OPENSSH PRIVATE KEY-----");
    assertThat(KeyUtils.getKeyType(loaded.getPublic())).isEqualTo("ssh-ed25519");
    assertThat(KeyUtils.getFingerPrint(loaded.getPublic())).isEqualTo(key.fingerprint());
    assertThat(HostKeys.generate("other").fingerprint()).isNotEqualTo(key.fingerprint());
    assertThat(TunnelWorkload.hostKeySecret(tunnel(user("alice", "k", 8080, "web")), key).getMetadata().getAnnotations())
        .containsEntry("portforward.dev/host-key-fingerprint", key.fingerprint());
  }

  @Test
  void aForwardIsBoundOnlyWhenAClientOfItsOwnUserHoldsThePort() {
    SshTunnel tunnel = tunnel(user("alice", "k", 8080, "web"), user("bob", "k", 8081, "api"));
    List<ClientView> reported = List.of(
        new ClientView("bob", "SHA256:b", "/10.0.0.9:4000", "2026-11-30T10:05:00Z", List.of(8081), 10, 20),
        new ClientView("alice", "SHA256:a", "/10.0.0.7:5000", "2026-11-30T10:00:00Z", List.of(), 30, 40));

    assertThat(TunnelStatuses.forwards(tunnel, reported))
        .extracting(f -> f.getUser() + ":" + f.getPort() + ":" + f.getServiceName() + ":" + f.getBound())
        .containsExactly("alice:8080:web:false", "bob:8081:api:true");
    assertThat(TunnelStatuses.clients(reported)).extracting(c -> c.getUser() + " " + c.getSource())
        .containsExactly("alice /10.0.0.7:5000", "bob /10.0.0.9:4000");
  }

  @Test
  void aReportFillsTheStatusBoundedWhateverThePodSends() {
    SshTunnel tunnel = tunnel(user("alice", "k", 8080, "web"));
    List<ClientView> many = IntStream.range(0, 150).mapToObj(i -> new ClientView("alice", "SHA256:a\u001b[2J",
        "/10.0.0.7:" + (5000 + i), "2026-11-30T10:00:%02dZ".formatted(i % 60), List.of(8080), i, 2L * i)).toList();
    SshTunnelStatus status = new SshTunnelStatus();

    TunnelStatuses.fill(status, tunnel, new Report(150, many,
        Map.of("auth", 2L, "destination", 1L, "made-up", 7L, "limit", 0L)));

    assertThat(status.getClientCount()).isEqualTo(150);
    assertThat(status.getClients()).hasSize(100);
    assertThat(status.getClients().get(0).getFingerprint()).isEqualTo("SHA256:a?[2J");
    assertThat(status.getClients().get(0).getSentBytes()).isEqualTo(0L);
    assertThat(status.getForwards()).singleElement().satisfies(f -> assertThat(f.getBound()).isTrue());
    assertThat(status.getRefusedRequests()).containsExactly(entry("auth", 2L), entry("destination", 1L));
  }

  @Test
  void eventsNameClientsThatCameAndWentAndCountRefusalsSinceTheLastReport() {
    SshTunnel tunnel = tunnel(user("alice", "k", 8080, "web"));
    SshTunnelStatus before = new SshTunnelStatus();
    TunnelStatuses.fill(before, tunnel, new Report(1, List.of(
        new ClientView("alice", "SHA256:a", "/10.0.0.7:5000", "2026-11-30T10:00:00Z", List.of(8080), 1, 1)),
        Map.of("auth", 2L)));
    SshTunnelStatus after = new SshTunnelStatus();
    List<ClientView> eight = IntStream.range(0, 8).mapToObj(i -> new ClientView("alice", "SHA256:a",
        "/10.0.0.8:" + (6000 + i), "2026-11-30T10:01:00Z", List.of(), 1, 1)).toList();
    TunnelStatuses.fill(after, tunnel, new Report(8, eight, Map.of("auth", 5L, "listen", 1L)));

    assertThat(TunnelStatuses.events(before, after)).extracting(e -> e.type() + " " + e.reason() + " " + e.message())
        .contains("Normal ClientConnected alice connected from /10.0.0.8:6000 with key SHA256:a",
            "Normal ClientConnected 3 more client(s) connected",
            "Normal ClientDisconnected alice disconnected from /10.0.0.7:5000 with key SHA256:a",
            "Warning RequestsRefused 4 request(s) refused since the last report (auth 3, listen 1); the tunnel pod's"
                + " log names the user and the reason of each")
        .hasSize(5 + 1 + 1 + 1);
    // Unchanged: nothing to tell. A restarted server counts from zero again.
    assertThat(TunnelStatuses.events(after, after)).isEmpty();
    SshTunnelStatus restarted = new SshTunnelStatus();
    TunnelStatuses.fill(restarted, tunnel, new Report(0, List.of(), Map.of("auth", 1L)));
    assertThat(TunnelStatuses.events(before, restarted)).extracting(TunnelStatuses.Event::message)
        .contains("1 request(s) refused since the last report (auth 1); the tunnel pod's log names the user and the"
            + " reason of each");
  }
}
