package dev.portforward.common;

import dev.portforward.api.v1alpha1.PortForward;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Names and ports of a PortForward's relay objects (ConfigMap, Deployment, Service). Shared, not
 * operator code: the agent finds a forward's relay pods through the Service named here, and the
 * Sidecar injector mounts the ConfigMap named here.
 */
public final class RelayNames {

  /** Where a Deployment relay listens inside its pod: unprivileged, so it needs no capability. */
  public static final int RELAY_PORT = 10000;
  /** The relay's health and metrics (quarkus.http.port). */
  public static final int MANAGEMENT_PORT = 9102;
  /** The ConfigMap key holding the relay config (docs/relay.md). */
  public static final String CONFIG_KEY = "relay.yaml";
  /** Selects the pods of one relay Deployment; its value is {@link #deployment}. */
  public static final String RELAY_LABEL = "portforward.dev/relay";

  static final int MAX_NAME = 63;
  private static final String SUFFIX = "-relay";
  private static final int HASH_CHARS = 8;
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z]([-a-z0-9]*[a-z0-9])?");

  private RelayNames() {}

  public static String configMap(PortForward pf) {
    return name(pf.getMetadata().getName());
  }

  public static String deployment(PortForward pf) {
    return name(pf.getMetadata().getName());
  }

  public static String service(PortForward pf) {
    return name(pf.getMetadata().getName());
  }

  /**
   * {@code <name>-relay}. A Service name must be a DNS label (at most 63 characters, no dots,
   * starting with a letter) while a PortForward name need not be: such a name becomes a readable
   * part plus a hash of the whole name, so that two names never share relay objects.
   */
  static String name(String portForwardName) {
    String plain = portForwardName + SUFFIX;
    if (plain.length() <= MAX_NAME && DNS_LABEL.matcher(plain).matches()) {
      return plain;
    }
    String readable = portForwardName.replace('.', '-');
    if (!Character.isLetter(readable.charAt(0))) {
      readable = "pf-" + readable;
    }
    String hash = HexFormat.of().formatHex(sha256(portForwardName)).substring(0, HASH_CHARS);
    String head = readable.substring(0, Math.min(readable.length(), MAX_NAME - SUFFIX.length() - HASH_CHARS - 1));
    return head.replaceAll("-+$", "") + "-" + hash + SUFFIX;
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
