package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** A port mapping granted by the gateway in front of the cluster. */
public class ExternalEndpoint {

  @JsonPropertyDescription("Node the mapping leads to.")
  private String node;

  @JsonPropertyDescription("External address that the gateway reported.")
  private String address;

  @JsonPropertyDescription("External port that the gateway granted.")
  private int port;

  @JsonPropertyDescription("Protocol that granted the mapping: UPnP, NATPMP or PCP.")
  private GatewayProtocol protocol;

  @JsonPropertyDescription("When the lease ends unless renewed (RFC 3339); empty for a permanent mapping.")
  private String expiresAt;

  public String getNode() {
    return node;
  }

  public void setNode(String node) {
    this.node = node;
  }

  public String getAddress() {
    return address;
  }

  public void setAddress(String address) {
    this.address = address;
  }

  public int getPort() {
    return port;
  }

  public void setPort(int port) {
    this.port = port;
  }

  public GatewayProtocol getProtocol() {
    return protocol;
  }

  public void setProtocol(GatewayProtocol protocol) {
    this.protocol = protocol;
  }

  public String getExpiresAt() {
    return expiresAt;
  }

  public void setExpiresAt(String expiresAt) {
    this.expiresAt = expiresAt;
  }
}
