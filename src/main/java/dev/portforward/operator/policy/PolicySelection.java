package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.NamespaceSelector;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.SelectorRequirement;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which policy governs a namespace. Exactly one does: among the PortForwardPolicies whose
 * namespaceSelector matches the namespace's labels, the one with the lowest precedence, then the
 * first by name; with none, the operator's default. Policies are never merged, so what a namespace
 * may do is always what one document says, and a refusal names that document.
 */
public final class PolicySelection {

  private static final Comparator<PortForwardPolicy> ORDER =
      Comparator.comparingInt((PortForwardPolicy p) -> p.getSpec().getPrecedence())
          .thenComparing(p -> p.getMetadata().getName());

  private PolicySelection() {}

  /**
   * The policy for the forwards of a namespace with these labels.
   *
   * @param defaults the operator's default policy; it also supplies the denylist
   */
  public static ForwardPolicy effective(
      ForwardPolicy defaults, Collection<PortForwardPolicy> policies, Map<String, String> namespaceLabels) {
    return governing(policies, namespaceLabels).map(defaults::grantedBy).orElse(defaults);
  }

  /** The PortForwardPolicy that governs a namespace with these labels, if any selects it. */
  public static Optional<PortForwardPolicy> governing(
      Collection<PortForwardPolicy> policies, Map<String, String> namespaceLabels) {
    Map<String, String> labels = namespaceLabels == null ? Map.of() : namespaceLabels;
    return policies.stream()
        .filter(p -> p.getSpec() != null && p.getMetadata().getDeletionTimestamp() == null)
        .filter(p -> selects(p.getSpec().getNamespaceSelector(), labels))
        .min(ORDER);
  }

  /** Kubernetes label selector semantics: every term must hold; an empty selector selects all. */
  static boolean selects(NamespaceSelector selector, Map<String, String> labels) {
    if (selector == null) {
      return false;
    }
    Map<String, String> matchLabels = selector.getMatchLabels() == null ? Map.of() : selector.getMatchLabels();
    List<SelectorRequirement> expressions =
        selector.getMatchExpressions() == null ? List.of() : selector.getMatchExpressions();
    return matchLabels.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())))
        && expressions.stream().allMatch(r -> holds(r, labels));
  }

  private static boolean holds(SelectorRequirement requirement, Map<String, String> labels) {
    String value = labels.get(requirement.getKey());
    List<String> values = requirement.getValues() == null ? List.of() : requirement.getValues();
    return switch (requirement.getOperator()) {
      case In -> value != null && values.contains(value);
      case NotIn -> value == null || !values.contains(value);
      case Exists -> value != null;
      case DoesNotExist -> value == null;
    };
  }
}
