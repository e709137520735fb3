package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.Objects;

/**
 * What the gateway granted the node that holds a forward's mapping, or why it did not. Only one
 * node holds a forward's mapping: a gateway maps an external port to one host.
 */
public class GatewayReport {

  @JsonPropertyDescription("Protocol that granted the mapping: UPnP, NATPMP or PCP.")
  private GatewayProtocol protocol;

  @JsonPropertyDescription("TCP or UDP.")
  private Protocol transport;

  @Size(max = Limits.MAX_IP)
  @JsonPropertyDescription("The node's address that the mapping leads to.")
  private String internalAddress;

  @JsonPropertyDescription("The node's port that the mapping leads to.")
  private Integer internalPort;

  @Size(max = Limits.MAX_IP)
  @JsonPropertyDescription("External address that the gateway reported.")
  private String address;

  @JsonPropertyDescription("External port that the gateway granted.")
  private Integer port;

  @Size(max = 64)
  @JsonPropertyDescription("When the lease ends unless renewed (RFC 3339); empty for a permanent mapping.")
  private String expiresAt;

  @Size(max = 64)
  @JsonPropertyDescription("Why there is no mapping: GatewayUnavailable or MappingRefused.")
  private String reason;

  @Size(max = 1024)
  @JsonPropertyDescription("What is wrong, if anything.")
  private String message;

  public GatewayProtocol getProtocol() {
    return protocol;
  }

  public void setProtocol(GatewayProtocol protocol) {
    this.protocol = protocol;
  }

  public Protocol getTransport() {
    return transport;
  }

  public void setTransport(Protocol transport) {
    this.transport = transport;
  }

  public String getInternalAddress() {
    return internalAddress;
  }

  public void setInternalAddress(String internalAddress) {
    this.internalAddress = internalAddress;
  }

  public Integer getInternalPort() {
    return internalPort;
  }

  public void setInternalPort(Integer internalPort) {
    this.internalPort = internalPort;
  }

  public String getAddress() {
    return address;
  }

  public void setAddress(String address) {
    this.address = address;
  }

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer port) {
    this.port = port;
  }

  public String getExpiresAt() {
    return expiresAt;
  }

  public void setExpiresAt(String expiresAt) {
    this.expiresAt = expiresAt;
  }

  public String getReason() {
    return reason;
  }

  public void setReason(String reason) {
    this.reason = reason;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  /** By value: the operator wakes only the forwards whose entry in a node's report changed. */
  @Override
  public boolean equals(Object o) {
    return o instanceof GatewayReport other
        && Objects.equals(protocol, other.protocol)
        && Objects.equals(transport, other.transport)
        && Objects.equals(internalAddress, other.internalAddress)
        && Objects.equals(internalPort, other.internalPort)
        && Objects.equals(address, other.address)
        && Objects.equals(port, other.port)
        && Objects.equals(expiresAt, other.expiresAt)
        && Objects.equals(reason, other.reason)
        && Objects.equals(message, other.message);
  }

  @Override
  public int hashCode() {
    return Objects.hash(protocol, transport, internalAddress, internalPort, address, port, expiresAt, reason, message);
  }
}
