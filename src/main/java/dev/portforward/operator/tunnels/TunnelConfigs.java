package dev.portforward.operator.tunnels;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.portforward.api.v1alpha1.SecretKeyRef;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.api.v1alpha1.TunnelKeepalive;
import dev.portforward.api.v1alpha1.TunnelRemoteForward;
import dev.portforward.tunnel.config.TunnelConfigFile;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What an SSHTunnel means to its tunnel server: the config file, written in the schema the
 * server reads ({@link TunnelConfigFile}), and the problems the CRD cannot see. Keys are not
 * copied into the config: each user's Secret key is mounted as a file the config names, so key
 * rotation reaches the server through the kubelet and its reload, and the ConfigMap holds no
 * credentials. Pure.
 */
public final class TunnelConfigs {

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

  private TunnelConfigs() {}

  /** The key a user's authorizedKeys reference names, or the default {@code authorized_keys}. */
  static String key(SecretKeyRef ref) {
    return Optional.ofNullable(ref.getKey()).orElse(TunnelNames.DEFAULT_KEYS_KEY);
  }

  /**
   * Problems that need more than one user in view, or the server's own ports: each a sentence
   * for the Accepted condition's message. Empty when the tunnel can be served.
   */
  public static List<String> problems(SshTunnel tunnel) {
    List<String> problems = new ArrayList<>();
    Map<Integer, String> ports = new HashMap<>();
    Map<String, String> services = new HashMap<>();
    if (TunnelNames.sshService(tunnel).length() > 63) {
      problems.add("the name is too long: the SSH Service " + TunnelNames.sshService(tunnel) + " needs at most 63 characters");
    }
    services.put(TunnelNames.sshService(tunnel), "the tunnel's SSH Service");
    for (SshTunnelUser user : tunnel.getSpec().getUsers()) {
      for (TunnelRemoteForward forward : Optional.ofNullable(user.getRemoteForwards()).orElse(List.of())) {
        if (forward.getPort() == TunnelNames.SSH_PORT || forward.getPort() == TunnelNames.HTTP_PORT) {
          problems.add("users " + user.getName() + ": port " + forward.getPort() + " is the tunnel server's own");
        }
        String portOwner = ports.putIfAbsent(forward.getPort(), user.getName());
        if (portOwner != null && !portOwner.equals(user.getName())) {
          problems.add("users " + user.getName() + ": port " + forward.getPort() + " is already " + portOwner + "'s");
        }
        String serviceOwner = services.putIfAbsent(forward.getServiceName(), "user " + user.getName());
        if (serviceOwner != null && !serviceOwner.equals("user " + user.getName())) {
          problems.add("users " + user.getName() + ": Service name " + forward.getServiceName() + " is already " + serviceOwner + "'s");
        }
      }
    }
    return List.copyOf(problems);
  }

  /**
   * The tunnel server's config for {@code tunnel}.
   *
   * @param deniedDestinations the operator's denylist (the API server's addresses and whatever
   *     the cluster admin adds); the server adds loopback, link-local and metadata itself
   */
  public static String render(SshTunnel tunnel, List<String> deniedDestinations) {
    List<TunnelConfigFile.User> users = tunnel.getSpec().getUsers().stream().map(user -> new TunnelConfigFile.User(
        user.getName(),
        null,
        TunnelNames.KEYS_DIR + "/" + user.getName(),
        Optional.ofNullable(user.getRemoteForwards()).orElse(List.of()).stream()
            .map(forward -> new TunnelConfigFile.RemoteForward(forward.getServiceName(), forward.getPort())).toList(),
        Optional.ofNullable(user.getAllowedDestinations()).orElse(List.of()),
        null,
        user.getMaxChannels(),
        user.getMaxSessions())).toList();
    TunnelKeepalive keepalive = tunnel.getSpec().getKeepalive();
    TunnelConfigFile file = new TunnelConfigFile(
        new TunnelConfigFile.Listen(null, TunnelNames.SSH_PORT),
        TunnelNames.HOST_KEY_DIR + "/" + TunnelNames.HOST_KEY_KEY,
        // The pod's own address, where the forward's Service sends traffic.
        "0.0.0.0",
        keepalive == null ? null : new TunnelConfigFile.Keepalive(keepalive.getInterval(), keepalive.getTimeout()),
        null,
        List.copyOf(deniedDestinations),
        null,
        users);
    try {
      return YAML.writeValueAsString(file);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
