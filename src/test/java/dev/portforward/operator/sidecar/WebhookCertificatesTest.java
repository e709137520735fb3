package dev.portforward.operator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WebhookCertificatesTest {

  private final Instant now = Instant.parse("2026-01-01T00:00:00Z");
  private final WebhookCertificates.Bundle bundle = WebhookCertificates.generate(
      WebhookCertificates.serviceNames("pf-op", "pf-system"), List.of("127.0.0.1"), Duration.ofDays(365), now);

  @Test
  void theServingCertificateChainsToTheGeneratedCaForItsLifetime() throws Exception {
    X509Certificate ca = WebhookCertificates.parse(bundle.caCert());
    X509Certificate cert = WebhookCertificates.parse(bundle.cert());

    assertThat(validate(cert, ca, now.plus(Duration.ofDays(364)))).isTrue();
    assertThat(bundle.notAfter()).isEqualTo(now.plus(Duration.ofDays(365)));
    // Another CA's certificate does not verify: the chain is really checked.
    X509Certificate otherCa = WebhookCertificates.parse(WebhookCertificates.generate(
        List.of("x"), List.of(), Duration.ofDays(1), now).caCert());
    assertThatThrownBy(() -> validate(cert, otherCa, now)).hasMessageContaining("Path does not chain");
    assertThatThrownBy(() -> validate(cert, ca, now.plus(Duration.ofDays(366)))).hasMessageContaining("validity check failed");
    assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(cert.getBasicConstraints()).isEqualTo(-1);
  }

  @Test
  void itNamesTheServiceDnsNamesAndLoopback() throws Exception {
    X509Certificate cert = WebhookCertificates.parse(bundle.cert());

    // Subject alternative names: 2 = dNSName, 7 = iPAddress.
    assertThat(cert.getSubjectAlternativeNames()).extracting(san -> san.get(0) + "=" + san.get(1)).containsExactly(
        "2=pf-op", "2=pf-op.pf-system", "2=pf-op.pf-system.svc", "2=pf-op.pf-system.svc.cluster.local",
        "7=127.0.0.1");
    assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    assertThat(bundle.key()).startsWith("-----BEGIN PRIVATE KEY-----");
  }

  private static boolean validate(X509Certificate cert, X509Certificate ca, Instant at) throws Exception {
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    parameters.setRevocationEnabled(false);
    parameters.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert)), parameters);
    return true;
  }
}
