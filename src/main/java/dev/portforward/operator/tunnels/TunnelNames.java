package dev.portforward.operator.tunnels;

import dev.portforward.api.v1alpha1.SshTunnel;

/** Names, ports and paths of an SSHTunnel's objects, in one place for the workload and the config. */
public final class TunnelNames {

  /** The port the tunnel server listens on in its pod (unprivileged: it runs without root). */
  public static final int SSH_PORT = 2222;
  /** The SSH Service's port: what clients write, {@code ssh -p 22} being the default. */
  public static final int SSH_SERVICE_PORT = 22;
  /** Health, metrics and {@code /tunnel/clients}. */
  public static final int HTTP_PORT = 9103;
  public static final String TUNNEL_LABEL = "portforward.dev/tunnel";
  static final String CONFIG_KEY = "tunnel.yaml";
  static final String CONFIG_DIR = "/etc/portforward/tunnel/config";
  static final String HOST_KEY_DIR = "/etc/portforward/tunnel/host-key";
  static final String HOST_KEY_KEY = "ssh_host_ed25519_key";
  static final String KEYS_DIR = "/etc/portforward/tunnel/keys";
  static final String DEFAULT_KEYS_KEY = "authorized_keys";

  private TunnelNames() {}

  /** The Deployment, its ConfigMap and its pods' label value. */
  public static String workload(SshTunnel tunnel) {
    return tunnel.getMetadata().getName() + "-tunnel";
  }

  /** Where clients connect inside the cluster. */
  public static String sshService(SshTunnel tunnel) {
    return tunnel.getMetadata().getName() + "-ssh";
  }

  /** The host key: made once, kept across restarts and upgrades, never rewritten. */
  public static String hostKeySecret(SshTunnel tunnel) {
    return tunnel.getMetadata().getName() + "-host-key";
  }
}
