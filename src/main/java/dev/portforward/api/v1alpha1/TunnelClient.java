package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * A connected SSH client.
 */
public class TunnelClient {

  @JsonPropertyDescription("The user it logged in as.")
  private String user;

  @JsonPropertyDescription("The SHA-256 fingerprint of the key it logged in with.")
  private String fingerprint;

  @JsonPropertyDescription("Its address and port, as the tunnel server sees it.")
  private String source;

  @JsonPropertyDescription("When it logged in (RFC 3339).")
  private String since;

  @JsonPropertyDescription("Bytes its SSH connection has received, encryption and framing included.")
  private Long receivedBytes;

  @JsonPropertyDescription("Bytes its SSH connection has sent, encryption and framing included.")
  private Long sentBytes;

  public String getUser() {
    return user;
  }

  public void setUser(String user) {
    this.user = user;
  }

  public String getFingerprint() {
    return fingerprint;
  }

  public void setFingerprint(String fingerprint) {
    this.fingerprint = fingerprint;
  }

  public String getSource() {
    return source;
  }

  public void setSource(String source) {
    this.source = source;
  }

  public String getSince() {
    return since;
  }

  public void setSince(String since) {
    this.since = since;
  }

  public Long getReceivedBytes() {
    return receivedBytes;
  }

  public void setReceivedBytes(Long receivedBytes) {
    this.receivedBytes = receivedBytes;
  }

  public Long getSentBytes() {
    return sentBytes;
  }

  public void setSentBytes(Long sentBytes) {
    this.sentBytes = sentBytes;
  }
}
