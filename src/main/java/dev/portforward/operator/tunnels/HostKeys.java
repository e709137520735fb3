package dev.portforward.operator.tunnels;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;

/**
 * A tunnel server's host key, made once by the operator and kept in a Secret, so that clients
 * that pinned it keep trusting the server across restarts, reschedules and upgrades.
 */
public final class HostKeys {

  private HostKeys() {}

  /** A new Ed25519 key as an OpenSSH private key file (what ssh-keygen writes), and its fingerprint. */
  public static HostKey generate(String comment) {
    try {
      KeyPair pair = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
      ByteArrayOutputStream file = new ByteArrayOutputStream();
      OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(pair, comment, null, file);
      return new HostKey(file.toString(StandardCharsets.US_ASCII), KeyUtils.getFingerPrint(pair.getPublic()));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot make an Ed25519 host key: " + e.getMessage(), e);
    }
  }

  /** An OpenSSH private key file and the SHA-256 fingerprint of its public key. */
  public record HostKey(String privateKeyFile, String fingerprint) {}
}
