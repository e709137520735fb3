package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * External targets a policy grants: by address (CIDRs) or by name (hosts). The operator's target
 * denylist applies to both, so a granted name that resolves to a denied address is still refused.
 */
@ValidationRule(
    value = "(has(self.cidrs) && size(self.cidrs) > 0) || (has(self.hosts) && size(self.hosts) > 0)",
    message = "externalTargets must list at least one of cidrs or hosts; leave externalTargets out to grant none",
    reason = "FieldValueRequired")
public class ExternalTargetGrant {

  @Size(max = Limits.MAX_GRANTED_CIDRS)
  @ValidationRule(
      value = "self.all(c, isCIDR(c))",
      message = "externalTargets.cidrs must be CIDRs such as 203.0.113.0/24 or 2001:db8::/32")
  @JsonPropertyDescription(
      "An external target whose address (as written, or as its name resolved) is in one of these is granted.")
  private List<@Size(max = Limits.MAX_CIDR) String> cidrs;

  @Size(max = Limits.MAX_GRANTED_HOSTS)
  @ValidationRule(
      value = "self.all(h, h.matches('^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'))",
      message = "externalTargets.hosts must be lower-case DNS names such as db.example.com, or *.example.com for its subdomains")
  @JsonPropertyDescription(
      "An external target written as one of these names is granted whatever it resolves to (outside the"
          + " denylist). *.example.com grants every subdomain of example.com, not example.com itself.")
  private List<@Size(max = Limits.MAX_HOST) String> hosts;

  public List<String> getCidrs() {
    return cidrs;
  }

  public void setCidrs(List<String> cidrs) {
    this.cidrs = cidrs;
  }

  public List<String> getHosts() {
    return hosts;
  }

  public void setHosts(List<String> hosts) {
    this.hosts = hosts;
  }
}
