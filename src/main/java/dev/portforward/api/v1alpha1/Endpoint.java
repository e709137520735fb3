package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** An address and port where clients reach the forward. */
public class Endpoint {

  @JsonPropertyDescription("Node that listens.")
  private String node;

  @JsonPropertyDescription("Address to connect to.")
  private String address;

  @JsonPropertyDescription("Port to connect to.")
  private int port;

  @JsonPropertyDescription("TCP or UDP.")
  private Protocol protocol;

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

  public Protocol getProtocol() {
    return protocol;
  }

  public void setProtocol(Protocol protocol) {
    this.protocol = protocol;
  }
}
