package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** One requirement of a label selector: a key, an operator and, for In and NotIn, values. */
@ValidationRule(
    value = "!(self.operator == 'In' || self.operator == 'NotIn') || (has(self.values) && size(self.values) > 0)",
    message = "values must be non-empty when operator is In or NotIn",
    reason = "FieldValueRequired")
@ValidationRule(
    value = "!(self.operator == 'Exists' || self.operator == 'DoesNotExist') || !has(self.values) || size(self.values) == 0",
    message = "values must be empty when operator is Exists or DoesNotExist",
    reason = "FieldValueForbidden")
public class SelectorRequirement {

  @Required
  @Size(min = 1, max = Limits.MAX_LABEL_KEY)
  @JsonPropertyDescription("The label key.")
  private String key;

  @Required
  @JsonPropertyDescription("In, NotIn, Exists or DoesNotExist.")
  private SelectorOperator operator;

  @Size(max = Limits.MAX_SELECTOR_VALUES)
  @JsonPropertyDescription("Label values, for In and NotIn.")
  private List<@Size(max = Limits.MAX_LABEL_VALUE) String> values;

  public String getKey() {
    return key;
  }

  public void setKey(String key) {
    this.key = key;
  }

  public SelectorOperator getOperator() {
    return operator;
  }

  public void setOperator(SelectorOperator operator) {
    this.operator = operator;
  }

  public List<String> getValues() {
    return values;
  }

  public void setValues(List<String> values) {
    this.values = values;
  }
}
