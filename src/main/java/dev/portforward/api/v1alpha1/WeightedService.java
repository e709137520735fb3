package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** A Service in the PortForward's own namespace and its share of the traffic (target.services). */
public class WeightedService {

  /** As Gateway API's backendRef weight. */
  public static final int MAX_WEIGHT = 1_000_000;

  @Required
  @Size(min = 1, max = 63)
  @Pattern("^[a-z]([-a-z0-9]*[a-z0-9])?$")
  @JsonPropertyDescription("Name of the Service.")
  private String name;

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("A port of the Service (spec.ports[].port).")
  private int port;

  @Default("1")
  @Min(0)
  @Max(MAX_WEIGHT)
  @JsonPropertyDescription("This Service's share of new connections, relative to the others' weights (0-1000000, as"
      + " Gateway API's backendRef weight; default 1). It is shared equally among the Service's ready endpoints."
      + " 0 sends it nothing; a Service that does not exist or has no ready endpoint takes no share, and the"
      + " others get all the traffic.")
  private int weight = 1;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public int getPort() {
    return port;
  }

  public void setPort(int port) {
    this.port = port;
  }

  public int getWeight() {
    return weight;
  }

  public void setWeight(int weight) {
    this.weight = weight;
  }
}
