package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * One account: the keys that log in as it (from a Secret), the remote ports it may bind and the
 * Service each becomes, and where its -L and -D channels may lead.
 */
public class SshTunnelUser {

  @Required
  @Size(max = 32)
  @Pattern("^[a-z_][a-z0-9_.-]*$")
  @JsonPropertyDescription("The user name clients log in as (ssh NAME@tunnel).")
  private String name;

  @Required
  @JsonPropertyDescription("The Secret key holding this user's public keys, in authorized_keys format.")
  private SecretKeyRef authorizedKeys;

  @Size(max = Limits.MAX_TUNNEL_REMOTE_FORWARDS)
  @ValidationRule(value = "self.all(f, self.exists_one(g, g.port == f.port))", message = "remoteForwards[].port must be unique")
  @ValidationRule(value = "self.all(f, self.exists_one(g, g.serviceName == f.serviceName))", message = "remoteForwards[].serviceName must be unique")
  @JsonPropertyDescription("Ports ssh -R may bind, each reachable in this namespace as a Service.")
  private List<TunnelRemoteForward> remoteForwards;

  @Size(max = Limits.MAX_DESTINATIONS)
  @ValidationRule(value = "self.all(c, isCIDR(c))", message = "allowedDestinations must be CIDRs such as 10.0.0.0/8")
  @JsonPropertyDescription("CIDRs that ssh -L and -D channels may reach (each name resolved once, that address checked and dialled); the operator's denylist always applies. Empty: none.")
  private List<@Size(max = Limits.MAX_CIDR) String> allowedDestinations;

  @Min(1)
  @Max(100000)
  @JsonPropertyDescription("-L and -D channels open at once, over all of the user's sessions (default 100).")
  private Integer maxChannels;

  @Min(1)
  @Max(1000)
  @JsonPropertyDescription("Connections at once (default 4); a reconnecting client needs a spare one until its dead session is noticed.")
  private Integer maxSessions;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public SecretKeyRef getAuthorizedKeys() {
    return authorizedKeys;
  }

  public void setAuthorizedKeys(SecretKeyRef authorizedKeys) {
    this.authorizedKeys = authorizedKeys;
  }

  public List<TunnelRemoteForward> getRemoteForwards() {
    return remoteForwards;
  }

  public void setRemoteForwards(List<TunnelRemoteForward> remoteForwards) {
    this.remoteForwards = remoteForwards;
  }

  public List<String> getAllowedDestinations() {
    return allowedDestinations;
  }

  public void setAllowedDestinations(List<String> allowedDestinations) {
    this.allowedDestinations = allowedDestinations;
  }

  public Integer getMaxChannels() {
    return maxChannels;
  }

  public void setMaxChannels(Integer maxChannels) {
    this.maxChannels = maxChannels;
  }

  public Integer getMaxSessions() {
    return maxSessions;
  }

  public void setMaxSessions(Integer maxSessions) {
    this.maxSessions = maxSessions;
  }
}
