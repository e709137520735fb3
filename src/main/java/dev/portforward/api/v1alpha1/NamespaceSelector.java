package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Map;

/**
 * A standard Kubernetes label selector (matchLabels and matchExpressions), with bounds so the API
 * server can check its CEL rules. All of its terms must match; an empty selector matches everything.
 */
public class NamespaceSelector {

  @Size(max = Limits.MAX_SELECTOR_LABELS)
  @JsonPropertyDescription("Namespaces with all of these labels match.")
  private Map<String, String> matchLabels;

  @Size(max = Limits.MAX_SELECTOR_LABELS)
  @JsonPropertyDescription("Namespaces that meet all of these requirements match.")
  private List<SelectorRequirement> matchExpressions;

  public Map<String, String> getMatchLabels() {
    return matchLabels;
  }

  public void setMatchLabels(Map<String, String> matchLabels) {
    this.matchLabels = matchLabels;
  }

  public List<SelectorRequirement> getMatchExpressions() {
    return matchExpressions;
  }

  public void setMatchExpressions(List<SelectorRequirement> matchExpressions) {
    this.matchExpressions = matchExpressions;
  }
}
