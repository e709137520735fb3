package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Objects;

/** One forward on one node: which generation of the PortForward is in place, and where it listens. */
public class ForwardReport {

  @Size(max = 63)
  @JsonPropertyDescription("Namespace of the PortForward.")
  private String namespace;

  @Size(max = 253)
  @JsonPropertyDescription("Name of the PortForward.")
  private String name;

  @JsonPropertyDescription("The metadata.generation of the PortForward that is programmed.")
  private long generation;

  @JsonPropertyDescription("Whether the forward's rules are in place.")
  private boolean programmed;

  @Size(max = 1024)
  @JsonPropertyDescription("Why not, if not.")
  private String message;

  @Size(max = Limits.MAX_LISTEN_ADDRESSES)
  @JsonPropertyDescription("Node addresses that accept the forward.")
  private List<@Size(max = Limits.MAX_IP) String> addresses;

  @JsonPropertyDescription("The gateway mapping, on the one node that holds it.")
  private GatewayReport gateway;

  public GatewayReport getGateway() {
    return gateway;
  }

  public void setGateway(GatewayReport gateway) {
    this.gateway = gateway;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public long getGeneration() {
    return generation;
  }

  public void setGeneration(long generation) {
    this.generation = generation;
  }

  public boolean isProgrammed() {
    return programmed;
  }

  public void setProgrammed(boolean programmed) {
    this.programmed = programmed;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  public List<String> getAddresses() {
    return addresses;
  }

  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }

  /** By value: the operator wakes only the forwards whose entry in a node's report changed. */
  @Override
  public boolean equals(Object o) {
    return o instanceof ForwardReport other
        && Objects.equals(namespace, other.namespace)
        && Objects.equals(name, other.name)
        && generation == other.generation
        && programmed == other.programmed
        && Objects.equals(message, other.message)
        && Objects.equals(addresses, other.addresses)
        && Objects.equals(gateway, other.gateway);
  }

  @Override
  public int hashCode() {
    return Objects.hash(namespace, name, generation, programmed, message, addresses, gateway);
  }
}
