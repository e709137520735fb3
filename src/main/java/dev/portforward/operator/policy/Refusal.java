package dev.portforward.operator.policy;

/** Why the operator's policy refuses a PortForward: a condition reason and a message to act on. */
public record Refusal(String reason, String message) {}
