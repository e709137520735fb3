package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** An inclusive range of ports; one port is a range whose ends are equal. */
@ValidationRule(
    value = "self.from <= self.to",
    message = "a port range's from must not be greater than its to")
public class PortRange {

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("First port of the range.")
  private int from;

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("Last port of the range (inclusive).")
  private int to;

  public PortRange() {}

  public PortRange(int from, int to) {
    this.from = from;
    this.to = to;
  }

  public int getFrom() {
    return from;
  }

  public void setFrom(int from) {
    this.from = from;
  }

  public int getTo() {
    return to;
  }

  public void setTo(int to) {
    this.to = to;
  }

  public boolean contains(int port) {
    return from <= port && port <= to;
  }

  @Override
  public String toString() {
    return from == to ? Integer.toString(from) : from + "-" + to;
  }
}
