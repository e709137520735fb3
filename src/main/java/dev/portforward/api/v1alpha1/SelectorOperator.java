package dev.portforward.api.v1alpha1;

/** The operators of a label selector requirement, as Kubernetes defines them. */
public enum SelectorOperator {
  In,
  NotIn,
  Exists,
  DoesNotExist
}
