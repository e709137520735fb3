package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/** A node agent's last applied state. */
public class NodeReportStatus {

  @JsonPropertyDescription("Whether the node's last transaction succeeded (its rules match the desired state).")
  private boolean programmed;

  @Size(max = 1024)
  @JsonPropertyDescription("What is wrong on this node, if anything.")
  private String message;

  @JsonPropertyDescription("When the agent last applied or verified its rules (RFC 3339).")
  private String lastSyncTime;

  @Size(max = Limits.MAX_FORWARDS_PER_NODE)
  @JsonPropertyDescription("Every forward the agent programs on this node.")
  private List<ForwardReport> forwards = new ArrayList<>();

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

  public String getLastSyncTime() {
    return lastSyncTime;
  }

  public void setLastSyncTime(String lastSyncTime) {
    this.lastSyncTime = lastSyncTime;
  }

  public List<ForwardReport> getForwards() {
    return forwards;
  }

  public void setForwards(List<ForwardReport> forwards) {
    this.forwards = forwards;
  }
}
