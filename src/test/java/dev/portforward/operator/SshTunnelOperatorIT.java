package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.SecretKeyRef;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelSpec;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.api.v1alpha1.TunnelRemoteForward;
import dev.portforward.operator.tunnels.TunnelNames;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SSHTunnel reconciler against a real API server and controller-manager: the operator makes
 * the tunnel's ConfigMap, Deployment, Services and host key Secret, owned by the SSHTunnel and
 * labelled as its own; the host key survives reconciles and an operator restart; an object
 * someone else made under one of its names refuses the tunnel and is left alone; the garbage
 * collector removes everything with the SSHTunnel. This test plays the kubelet for the tunnel pod
 * (reports it Ready) to see the Ready condition follow the Deployment.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class SshTunnelOperatorIT {

  /** The tunnel pod's address, as the test plays the kubelet: the host end of a link to the laptop. */
  private static final String POD_ADDRESS = "10.77.171.1";
  private static final String LAPTOP_ADDRESS = "10.77.171.2";
  private static final String ALICE_KEY =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJhHT+9kwWAiUdiyZ+t0Zc9S625WZwYy32zHjeAKMH2o alice@laptop";

  @Test
  void aTunnelGetsItsObjectsKeepsItsHostKeyAndTakesThemAlongWhenDeleted(
      KubernetesClient client, TestNamespace ns, RoleProcess operator) throws Exception {
    client.resource(keys(ns, "alice-keys")).create();
    SshTunnel tunnel = client.resource(tunnel(ns, "dev", 8080, "laptop-web")).create();
    String uid = tunnel.getMetadata().getUid();

    List<HasMetadata> objects = await("the tunnel's objects").atMost(WAIT).until(() -> objects(client, ns, "dev",
        "laptop-web"), found -> found.stream().allMatch(Optional::isPresent)).stream().map(Optional::get).toList();
    for (HasMetadata object : objects) {
      assertThat(object.getMetadata().getLabels())
          .describedAs(object.getKind()).containsEntry("app.kubernetes.io/managed-by", "portforward-operator");
      assertThat(object.getMetadata().getOwnerReferences()).describedAs(object.getKind())
          .singleElement().satisfies(owner -> {
            assertThat(owner.getKind()).isEqualTo("SSHTunnel");
            assertThat(owner.getUid()).isEqualTo(uid);
            assertThat(owner.getController()).isTrue();
          });
    }
    assertThat(client.configMaps().inNamespace(ns.name()).withName("dev-tunnel").get().getData().get("tunnel.yaml"))
        .contains("alice").contains("laptop-web");
    Secret hostKey = hostKey(client, ns, "dev");
    assertThat(hostKey.getData().get("ssh_host_ed25519_key")).isNotBlank();
    String fingerprint = hostKey.getMetadata().getAnnotations().get("portforward.dev/host-key-fingerprint");
    assertThat(fingerprint).startsWith("SHA256:");

    SshTunnel accepted = awaitCondition(client, ns, "dev", Conditions.READY, "False", Reason.TUNNEL_NOT_READY);
    assertThat(condition(accepted, Conditions.ACCEPTED)).hasValueSatisfying(c -> assertThat(c.getStatus()).isEqualTo("True"));
    assertThat(accepted.getStatus().getHostKeyFingerprint()).isEqualTo(fingerprint);
    assertThat(accepted.getStatus().getSshService()).isEqualTo("dev-ssh:22");

    reportTunnelPodReady(client, ns, "dev-tunnel");
    awaitCondition(client, ns, "dev", Conditions.READY, "True", Reason.READY);

    // An edit is reconciled (the config follows it); the host key is not rewritten.
    editMaxChannels(client, ns, "dev", 7);
    awaitConfigContains(client, ns, "dev-tunnel", "maxChannels: 7");
    assertThat(hostKey(client, ns, "dev").getMetadata().getResourceVersion())
        .isEqualTo(hostKey.getMetadata().getResourceVersion());

    operator.terminate();
    operator.exitCode();
    operator.start();
    editMaxChannels(client, ns, "dev", 9);
    awaitConfigContains(client, ns, "dev-tunnel", "maxChannels: 9");
    Secret afterRestart = hostKey(client, ns, "dev");
    assertThat(afterRestart.getMetadata().getResourceVersion()).isEqualTo(hostKey.getMetadata().getResourceVersion());
    assertThat(afterRestart.getData()).isEqualTo(hostKey.getData());
    assertThat(client.resources(SshTunnel.class).inNamespace(ns.name()).withName("dev").get().getStatus()
        .getHostKeyFingerprint()).isEqualTo(fingerprint);

    client.resources(SshTunnel.class).inNamespace(ns.name()).withName("dev").delete();
    await("the garbage collector removing the tunnel's objects").atMost(Duration.ofMinutes(2))
        .until(() -> objects(client, ns, "dev", "laptop-web").stream().noneMatch(Optional::isPresent));
  }

  @Test
  void anObjectSomeoneElseMadeUnderATunnelsNameRefusesItAndIsLeftAlone(KubernetesClient client, TestNamespace ns) {
    client.resource(keys(ns, "alice-keys")).create();
    ConfigMap theirs = client.resource(new ConfigMapBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName("web-tunnel").endMetadata()
        .withData(Map.of("theirs", "yes")).build()).create();
    client.resource(tunnel(ns, "web", 8081, "web-laptop")).create();

    SshTunnel refused = awaitCondition(client, ns, "web", Conditions.ACCEPTED, "False", Reason.TUNNEL_OBJECT_CONFLICT);
    assertThat(condition(refused, Conditions.ACCEPTED).orElseThrow().getMessage())
        .contains("ConfigMap " + ns.name() + "/web-tunnel");
    ConfigMap after = client.configMaps().inNamespace(ns.name()).withName("web-tunnel").get();
    assertThat(after.getData()).isEqualTo(Map.of("theirs", "yes"));
    assertThat(after.getMetadata().getResourceVersion()).isEqualTo(theirs.getMetadata().getResourceVersion());
    assertThat(after.getMetadata().getOwnerReferences()).isNullOrEmpty();
    assertThat(client.apps().deployments().inNamespace(ns.name()).withName("web-tunnel").get()).isNull();
    assertThat(client.secrets().inNamespace(ns.name()).withName("web-host-key").get()).isNull();

    // Once it is gone, the tunnel is served (the refused tunnel is looked at again).
    client.resource(after).delete();
    await("the tunnel accepted once the ConfigMap is gone").atMost(Duration.ofMinutes(2)).until(
        () -> condition(client.resources(SshTunnel.class).inNamespace(ns.name()).withName("web").get(), Conditions.ACCEPTED),
        c -> c.filter(x -> "True".equals(x.getStatus())).isPresent());
    assertThat(client.apps().deployments().inNamespace(ns.name()).withName("web-tunnel").get()).isNotNull();
  }

  /**
   * The real OpenSSH client logs in to a tunnel server that plays the tunnel's pod (the jar's
   * tunnel role, its HTTP port at the pod's address): the operator reads the server's report into
   * the status (the client with its key fingerprint, source and bytes, the forward bound, an
   * unknown key's refusal counted) with Events, and takes the client out when it goes.
   */
  @Test
  void theStatusListsTheConnectedClientsAndBoundForwardsTheServerReports(
      KubernetesClient client, TestNamespace ns, @TempDir Path dir) throws Exception {
    try (NetNs netns = NetNs.create()) {
      String laptop = netns.host("laptop");
      netns.linkToHost(laptop, POD_ADDRESS + "/30", LAPTOP_ADDRESS + "/30");
      Path root = Files.createDirectories(dir.resolve("www"));
      Files.writeString(root.resolve("index.html"), "served by the laptop\n");
      netns.spawn(laptop, "/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
          root.toString(), "3000");
      Path hostKey = keygen(netns, dir, "host_key");
      Path aliceKey = keygen(netns, dir, "alice");
      Path strangerKey = keygen(netns, dir, "stranger");
      Path knownHosts = dir.resolve("known_hosts");
      Files.writeString(knownHosts, "tunnel " + Files.readString(Path.of(hostKey + ".pub")));
      String alicePublic = Files.readString(Path.of(aliceKey + ".pub")).strip();
      String aliceFingerprint = netns.run("ssh-keygen", "-l", "-f", aliceKey + ".pub").split(" ")[1];
      int sshPort = ControlPlane.freePort();
      int remotePort = ControlPlane.freePort();

      client.resource(new SecretBuilder().withNewMetadata().withNamespace(ns.name()).withName("alice-keys").endMetadata()
          .withStringData(Map.of("authorized_keys", alicePublic + "\n")).build()).create();
      client.resource(tunnel(ns, "live", remotePort, "live-web")).create();
      reportTunnelPodReady(client, ns, "live-tunnel", POD_ADDRESS);
      // The server the pod would run, with the config the test gives it (the ConfigMap's names pod paths).
      Path config = dir.resolve("tunnel.yaml");
      Files.writeString(config, """
          listen: {address: %s, port: %d}
          hostKeyFile: %s
          remoteForwardAddress: %s
          users:
            - name: alice
              authorizedKeys: ["%s"]
              remoteForwards: [{name: live-web, port: %d}]
          """.formatted(POD_ADDRESS, sshPort, hostKey, POD_ADDRESS, alicePublic, remotePort));
      try (RoleProcess server = RoleProcess.tunnel(dir, POD_ADDRESS, TunnelNames.HTTP_PORT,
          Map.of("portforward.tunnel.config-file", config.toString())).start()) {
        SshTunnel idle = awaitStatus(client, ns, "live", s -> Integer.valueOf(0).equals(s.getClientCount()));
        assertThat(idle.getStatus().getForwards()).singleElement().satisfies(f -> assertThat(f.getBound()).isFalse());

        List<String> ssh = List.of("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=" + knownHosts, "-o", "HostKeyAlias=tunnel", "-o", "IdentitiesOnly=yes",
            "-p", String.valueOf(sshPort), "-N", "-o", "ExitOnForwardFailure=yes",
            "-R", remotePort + ":localhost:3000");
        Process session = netns.spawn(laptop, concat(ssh, "-i", aliceKey.toString(), "alice@" + POD_ADDRESS));
        SshTunnel connected = awaitStatus(client, ns, "live", s -> Integer.valueOf(1).equals(s.getClientCount())
            && s.getForwards().get(0).getBound());
        assertThat(connected.getStatus().getClients()).singleElement().satisfies(c -> {
          assertThat(c.getUser()).isEqualTo("alice");
          assertThat(c.getFingerprint()).isEqualTo(aliceFingerprint);
          assertThat(c.getSource()).contains(LAPTOP_ADDRESS);
          assertThat(c.getSince()).isNotBlank();
          assertThat(c.getReceivedBytes()).isPositive();
          assertThat(c.getSentBytes()).isPositive();
        });
        assertThat(connected.getStatus().getForwards()).singleElement().satisfies(f -> {
          assertThat(f.getServiceName()).isEqualTo("live-web");
          assertThat(f.getPort()).isEqualTo(remotePort);
        });
        awaitEvent(client, ns, "ClientConnected", "alice connected from");

        // A key that is not alice's is refused; the refusal is counted in the status and told in an Event.
        Process stranger = netns.spawn(laptop, concat(ssh, "-i", strangerKey.toString(), "alice@" + POD_ADDRESS));
        assertThat(stranger.waitFor(60, TimeUnit.SECONDS)).isTrue();
        awaitStatus(client, ns, "live", s -> s.getRefusedRequests() != null && s.getRefusedRequests().getOrDefault("auth", 0L) >= 1);
        awaitEvent(client, ns, "RequestsRefused", "auth");

        session.descendants().forEach(ProcessHandle::destroyForcibly);
        session.destroyForcibly();
        awaitStatus(client, ns, "live", s -> Integer.valueOf(0).equals(s.getClientCount())
            && s.getClients().isEmpty() && !s.getForwards().get(0).getBound());
        awaitEvent(client, ns, "ClientDisconnected", "alice disconnected from");
      }
    }
  }

  private static Path keygen(NetNs netns, Path dir, String name) {
    Path key = dir.resolve(name);
    netns.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
    return key;
  }

  private static String[] concat(List<String> command, String... more) {
    List<String> all = new ArrayList<>(command);
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private static SshTunnel awaitStatus(KubernetesClient client, TestNamespace ns, String name,
      Predicate<SshTunnelStatus> wanted) {
    return await(ns.name() + "/" + name + "'s status").atMost(Duration.ofMinutes(2)).until(
        () -> client.resources(SshTunnel.class).inNamespace(ns.name()).withName(name).get(),
        tunnel -> tunnel != null && tunnel.getStatus() != null && tunnel.getStatus().getForwards() != null
            && !tunnel.getStatus().getForwards().isEmpty() && wanted.test(tunnel.getStatus()));
  }

  private static void awaitEvent(KubernetesClient client, TestNamespace ns, String reason, String text) {
    await("an Event " + reason + " saying " + text).atMost(Duration.ofMinutes(2)).until(
        () -> client.v1().events().inNamespace(ns.name()).list().getItems().stream()
            .filter(e -> "SSHTunnel".equals(e.getInvolvedObject().getKind()) && reason.equals(e.getReason()))
            .anyMatch(e -> e.getMessage().contains(text)));
  }

  private static List<Optional<HasMetadata>> objects(KubernetesClient client, TestNamespace ns, String name,
      String forwardService) {
    return List.of(
        Optional.<HasMetadata>ofNullable(client.configMaps().inNamespace(ns.name()).withName(name + "-tunnel").get()),
        Optional.<HasMetadata>ofNullable(client.apps().deployments().inNamespace(ns.name()).withName(name + "-tunnel").get()),
        Optional.<HasMetadata>ofNullable(client.services().inNamespace(ns.name()).withName(name + "-ssh").get()),
        Optional.<HasMetadata>ofNullable(client.services().inNamespace(ns.name()).withName(forwardService).get()),
        Optional.<HasMetadata>ofNullable(client.secrets().inNamespace(ns.name()).withName(name + "-host-key").get()));
  }

  private static Secret hostKey(KubernetesClient client, TestNamespace ns, String name) {
    return client.secrets().inNamespace(ns.name()).withName(name + "-host-key").get();
  }

  private static void editMaxChannels(KubernetesClient client, TestNamespace ns, String name, int maxChannels) {
    client.resources(SshTunnel.class).inNamespace(ns.name()).withName(name)
        .edit(t -> {
          t.getSpec().getUsers().get(0).setMaxChannels(maxChannels);
          return t;
        });
  }

  private static void awaitConfigContains(KubernetesClient client, TestNamespace ns, String name, String text) {
    await("ConfigMap " + name + " saying " + text).atMost(WAIT).until(
        () -> client.configMaps().inNamespace(ns.name()).withName(name).get().getData().get("tunnel.yaml"),
        config -> config.contains(text));
  }

  /** Plays the kubelet: the pod the Deployment controller made is reported Running and Ready. */
  private static void reportTunnelPodReady(KubernetesClient client, TestNamespace ns, String workload) {
    reportTunnelPodReady(client, ns, workload, "10.77.9.2");
  }

  private static void reportTunnelPodReady(KubernetesClient client, TestNamespace ns, String workload, String podIp) {
    Pod pod = await("the tunnel pod").atMost(WAIT).until(() -> client.pods().inNamespace(ns.name())
        .withLabel("portforward.dev/tunnel", workload).list().getItems(), pods -> pods.size() == 1).get(0);
    pod.setStatus(new PodStatusBuilder().withPhase("Running").withPodIP(podIp)
        .addNewPodIP().withIp(podIp).endPodIP()
        .addNewCondition().withType("Ready").withStatus("True").endCondition().build());
    client.resource(pod).updateStatus();
  }

  private static Optional<Condition> condition(SshTunnel tunnel, String type) {
    if (tunnel == null || tunnel.getStatus() == null) {
      return Optional.empty();
    }
    return tunnel.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  private static SshTunnel awaitCondition(KubernetesClient client, TestNamespace ns, String name, String type,
      String status, String reason) {
    return await(ns.name() + "/" + name + " " + type + "=" + status + " (" + reason + ")").atMost(WAIT).until(
        () -> client.resources(SshTunnel.class).inNamespace(ns.name()).withName(name).get(),
        tunnel -> condition(tunnel, type).filter(c -> status.equals(c.getStatus()) && reason.equals(c.getReason()))
            .isPresent() && tunnel.getStatus().getObservedGeneration().equals(tunnel.getMetadata().getGeneration()));
  }

  private static Secret keys(TestNamespace ns, String name) {
    return new SecretBuilder().withNewMetadata().withNamespace(ns.name()).withName(name).endMetadata()
        .withStringData(Map.of("authorized_keys", ALICE_KEY + "\n")).build();
  }

  private static SshTunnel tunnel(TestNamespace ns, String name, int port, String service) {
    SshTunnel tunnel = new SshTunnel();
    tunnel.getMetadata().setName(name);
    tunnel.getMetadata().setNamespace(ns.name());
    SshTunnelUser user = new SshTunnelUser();
    user.setName("alice");
    SecretKeyRef keys = new SecretKeyRef();
    keys.setName("alice-keys");
    user.setAuthorizedKeys(keys);
    TunnelRemoteForward forward = new TunnelRemoteForward();
    forward.setPort(port);
    forward.setServiceName(service);
    user.setRemoteForwards(List.of(forward));
    user.setAllowedDestinations(List.of("10.77.0.0/16"));
    SshTunnelSpec spec = new SshTunnelSpec();
    spec.setUsers(List.of(user));
    tunnel.setSpec(spec);
    return tunnel;
  }
}
