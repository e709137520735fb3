package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** The forward's state on one node, as that node's agent last reported it. */
public class NodeState {

  @JsonPropertyDescription("Node name.")
  private String name;

  @JsonPropertyDescription("Whether the node's rules for this forward are in place.")
  private boolean programmed;

  @JsonPropertyDescription("When the node's agent last applied its rules (RFC 3339).")
  private String lastSyncTime;

  @JsonPropertyDescription("What is wrong on this node, if anything.")
  private String message;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public boolean isProgrammed() {
    return programmed;
  }

  public void setProgrammed(boolean programmed) {
    this.programmed = programmed;
  }

  public String getLastSyncTime() {
    return lastSyncTime;
  }

  public void setLastSyncTime(String lastSyncTime) {
    this.lastSyncTime = lastSyncTime;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }
}
