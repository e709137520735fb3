package dev.portforward.operator.status;

/** Everything the reconciler concluded about one PortForward, before it becomes status. */
public record Verdict(Check accepted, Check resolvedRefs, Check programmed, Check ready, String target) {}
