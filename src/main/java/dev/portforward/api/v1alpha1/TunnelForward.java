package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * A remote forward of the spec and its state.
 */
public class TunnelForward {

  @JsonPropertyDescription("The user whose forward it is.")
  private String user;

  @JsonPropertyDescription("The port ssh -R binds.")
  private Integer port;

  @JsonPropertyDescription("The Service that leads to it.")
  private String serviceName;

  @JsonPropertyDescription("Whether a connected client holds the port now.")
  private Boolean bound;

  public String getUser() {
    return user;
  }

  public void setUser(String user) {
    this.user = user;
  }

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer port) {
    this.port = port;
  }

  public String getServiceName() {
    return serviceName;
  }

  public void setServiceName(String serviceName) {
    this.serviceName = serviceName;
  }

  public Boolean getBound() {
    return bound;
  }

  public void setBound(Boolean bound) {
    this.bound = bound;
  }
}
