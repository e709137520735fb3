package dev.portforward.operator.sidecar;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.StringReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.jboss.logging.Logger;

/**
 * Keeps the webhook's certificate: in a Secret of the operator's namespace (shared by all
 * replicas: the first one creates it, a conflict means another replica was faster), renewed when
 * a third of its lifetime is left, served through a key manager that switches without a restart,
 * and trusted by the API server through the caBundle the operator applies to the webhook
 * configuration. After a renewal the caBundle holds the new and the previous CA, so that neither
 * the API server nor a replica still serving the old certificate sees a gap.
 */
final class WebhookTls extends X509ExtendedKeyManager {

  private static final Logger LOG = Logger.getLogger(WebhookTls.class);
  static final String CA = "ca.crt";
  static final String CERT = "tls.crt";
  static final String KEY = "tls.key";
  private static final String FIELD_MANAGER = "portforward-operator-webhook";

  private final KubernetesClient client;
  private final String namespace;
  private final String secretName;
  private final String configurationName;
  private final List<String> dnsNames;
  private final Duration validity;
  private final Clock clock;
  private volatile X509ExtendedKeyManager current;
  private volatile Map<String, String> served;
  /** When the served certificate expires; null until one is served. */
  private volatile Instant servedUntil;

  WebhookTls(KubernetesClient client, String namespace, String secretName, String configurationName,
      List<String> dnsNames, Duration validity, Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.secretName = secretName;
    this.configurationName = configurationName;
    this.dnsNames = dnsNames;
    this.validity = validity;
    this.clock = clock;
  }

  /**
   * Makes sure a valid certificate is in the Secret, serves it, and puts its CA into the webhook
   * configuration. Run at start and then periodically; safe to run from every replica.
   */
  synchronized void refresh() {
    Map<String, String> pem = ensureSecret();
    // Trusted first, served second: the API server must know the new CA before it meets it.
    applyCaBundle(pem.get(CA));
    if (!pem.equals(served)) {
      current = keyManager(pem);
      served = pem;
      servedUntil = WebhookCertificates.parse(pem.get(CERT)).getNotAfter().toInstant();
      LOG.infof("webhook: serving the certificate of Secret %s/%s", namespace, secretName);
    }
  }

  /** The served certificate's expiry in seconds since the epoch (NaN before one is served), for the alert. */
  double expiry() {
    Instant until = servedUntil;
    return until == null ? Double.NaN : until.getEpochSecond();
  }

  private Map<String, String> ensureSecret() {
    for (int attempt = 0; ; attempt++) {
      Secret secret = client.secrets().inNamespace(namespace).withName(secretName).get();
      Map<String, String> pem = secret == null ? Map.of() : decode(secret);
      if (secret != null && !needsRenewal(pem)) {
        return pem;
      }
      Map<String, String> next = issue(pem);
      try {
        Secret wanted = new SecretBuilder().withNewMetadata().withName(secretName).withNamespace(namespace)
            .withResourceVersion(secret == null ? null : secret.getMetadata().getResourceVersion())
            .addToLabels("app.kubernetes.io/managed-by", "portforward-operator")
            .endMetadata()
            .withType("kubernetes.io/tls")
            .withData(encode(next))
            .build();
        if (secret == null) {
          client.resource(wanted).create();
        } else {
          client.resource(wanted).update();
        }
        LOG.infof("webhook: issued a certificate valid until %s in Secret %s/%s",
            WebhookCertificates.parse(next.get(CERT)).getNotAfter().toInstant(), namespace, secretName);
        return next;
      } catch (KubernetesClientException e) {
        // 409: another replica created or renewed it meanwhile; use theirs.
        if (e.getCode() != 409 || attempt >= 3) {
          throw e;
        }
      }
    }
  }

  private boolean needsRenewal(Map<String, String> pem) {
    if (pem.get(CA) == null || pem.get(CERT) == null || pem.get(KEY) == null) {
      return true;
    }
    try {
      X509Certificate cert = WebhookCertificates.parse(pem.get(CERT));
      Instant notBefore = cert.getNotBefore().toInstant();
      Instant notAfter = cert.getNotAfter().toInstant();
      Duration third = Duration.between(notBefore, notAfter).dividedBy(3);
      return clock.instant().isAfter(notAfter.minus(third)) || !cert.getSubjectX500Principal().getName()
          .equals("CN=" + dnsNames.get(0));
    } catch (IllegalArgumentException unreadable) {
      return true;
    }
  }

  /** A new CA and certificate; the bundle keeps the previous CA, which the old certificate chains to. */
  private Map<String, String> issue(Map<String, String> previous) {
    WebhookCertificates.Bundle bundle = WebhookCertificates.generate(dnsNames, List.of("127.0.0.1"), validity, clock.instant());
    String caBundle = bundle.caCert();
    String previousCa = previous.get(CA);
    if (previousCa != null) {
      int end = previousCa.indexOf("-----END CERTIFICATE-----");
      if (end > 0) {
        caBundle += previousCa.substring(0, end + "-----END CERTIFICATE-----".length()) + "\n";
      }
    }
    return Map.of(CA, caBundle, CERT, bundle.cert() + bundle.caCert(), KEY, bundle.key());
  }

  /** Server-side apply of the caBundle only: the rest of the configuration belongs to the installer. */
  private void applyCaBundle(String caBundle) {
    MutatingWebhookConfiguration existing =
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(configurationName).get();
    if (existing == null) {
      LOG.warnf("webhook: MutatingWebhookConfiguration %s does not exist; no pod gets the relay sidecar",
          configurationName);
      return;
    }
    String encoded = Base64.getEncoder().encodeToString(caBundle.getBytes(StandardCharsets.UTF_8));
    if (existing.getWebhooks().stream().allMatch(w -> encoded.equals(w.getClientConfig().getCaBundle()))) {
      return;
    }
    List<MutatingWebhook> webhooks = existing.getWebhooks().stream()
        .map(w -> new MutatingWebhookBuilder().withName(w.getName())
            .withNewClientConfig().withCaBundle(encoded).endClientConfig().build())
        .toList();
    client.resource(new MutatingWebhookConfigurationBuilder()
            .withNewMetadata().withName(configurationName).endMetadata()
            .withWebhooks(webhooks)
            .build())
        .fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply();
    LOG.infof("webhook: caBundle of MutatingWebhookConfiguration %s updated", configurationName);
  }

  private static X509ExtendedKeyManager keyManager(Map<String, String> pem) {
    try {
      PrivateKey key;
      try (PEMParser parser = new PEMParser(new StringReader(pem.get(KEY)))) {
        key = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) parser.readObject());
      }
      List<X509Certificate> chain = certificates(pem.get(CERT));
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("webhook", key, new char[0], chain.toArray(X509Certificate[]::new));
      KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, new char[0]);
      return (X509ExtendedKeyManager) factory.getKeyManagers()[0];
    } catch (IOException | GeneralSecurityException | ClassCastException e) {
      throw new IllegalStateException("webhook: unusable key or certificate in the Secret: " + e.getMessage(), e);
    }
  }

  private static List<X509Certificate> certificates(String pem) {
    String end = "-----END CERTIFICATE-----";
    return Arrays.stream(pem.split("(?<=" + end + ")"))
        .filter(block -> block.contains(end))
        .map(WebhookCertificates::parse)
        .toList();
  }

  private static Map<String, String> decode(Secret secret) {
    Map<String, String> data = Objects.requireNonNullElse(secret.getData(), Map.of());
    Map<String, String> pem = new HashMap<>();
    data.forEach((k, v) -> pem.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    return Map.copyOf(pem);
  }

  private static Map<String, String> encode(Map<String, String> pem) {
    Map<String, String> data = new HashMap<>();
    pem.forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    return data;
  }

  // The key manager the TLS server asks on every handshake: whatever refresh() last loaded.

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return current.getServerAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return current.chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return current.chooseEngineServerAlias(keyType, issuers, engine);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return current.getCertificateChain(alias);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return current.getPrivateKey(alias);
  }
}
