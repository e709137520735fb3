package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * Who may connect to a tunnel server and what each may forward. One SSHTunnel is one tunnel
 * server (a Deployment in its namespace), so one tenant's ports and keys never share a process
 * with another's.
 */
public class SshTunnelSpec {

  @Required
  @Size(min = 1, max = Limits.MAX_TUNNEL_USERS)
  @ValidationRule(value = "self.all(u, self.exists_one(v, v.name == u.name))", message = "users[].name must be unique")
  @JsonPropertyDescription("The accounts of the tunnel server.")
  private List<SshTunnelUser> users;

  @JsonPropertyDescription("How a dead client is noticed; its remote ports are released then.")
  private TunnelKeepalive keepalive;

  public List<SshTunnelUser> getUsers() {
    return users;
  }

  public void setUsers(List<SshTunnelUser> users) {
    this.users = users;
  }

  public TunnelKeepalive getKeepalive() {
    return keepalive;
  }

  public void setKeepalive(TunnelKeepalive keepalive) {
    this.keepalive = keepalive;
  }
}
