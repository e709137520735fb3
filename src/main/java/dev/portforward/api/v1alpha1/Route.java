package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** Clients from these source ranges go to this route's target instead of spec.target. */
public class Route {

  @Required
  @Size(min = 1, max = Limits.MAX_SOURCE_RANGES)
  @ValidationRule(
      value = "self.all(c, isCIDR(c))",
      message = "routes[].sourceRanges must be CIDRs such as 10.0.0.0/8 or 2001:db8::/32")
  @JsonPropertyDescription("Clients whose address is in one of these CIDRs take this route.")
  private List<@Size(max = Limits.MAX_CIDR) String> sourceRanges;

  @Required
  @JsonPropertyDescription("Where these clients go: exactly one of service, services, pods or external.")
  private Target target;

  public List<String> getSourceRanges() {
    return sourceRanges;
  }

  public void setSourceRanges(List<String> sourceRanges) {
    this.sourceRanges = sourceRanges;
  }

  public Target getTarget() {
    return target;
  }

  public void setTarget(Target target) {
    this.target = target;
  }
}
