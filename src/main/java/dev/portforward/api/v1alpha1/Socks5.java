package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * A SOCKS5 proxy is an open door unless fenced: it always needs a destination allowlist, and
 * either credentials or a source allowlist (spec.sourceRanges).
 */
public class Socks5 {

  @Required
  @Size(min = 1, max = Limits.MAX_DESTINATIONS)
  @ValidationRule(
      value = "self.all(c, isCIDR(c))",
      message = "relay.socks5.allowedDestinations must be CIDRs such as 10.0.0.0/8")
  @JsonPropertyDescription("CONNECT requests may only reach addresses in these CIDRs.")
  private List<@Size(max = Limits.MAX_CIDR) String> allowedDestinations;

  @Size(max = 253)
  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  @JsonPropertyDescription(
      "Secret in the same namespace whose keys are user names and values passwords (RFC 1929). "
          + "Without it, spec.sourceRanges must be set.")
  private String usersSecretName;

  public List<String> getAllowedDestinations() {
    return allowedDestinations;
  }

  public void setAllowedDestinations(List<String> allowedDestinations) {
    this.allowedDestinations = allowedDestinations;
  }

  public String getUsersSecretName() {
    return usersSecretName;
  }

  public void setUsersSecretName(String usersSecretName) {
    this.usersSecretName = usersSecretName;
  }
}
