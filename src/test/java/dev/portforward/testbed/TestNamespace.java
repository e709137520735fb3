package dev.portforward.testbed;

/** The namespace a test owns; created before the test and deleted after it. */
public record TestNamespace(String name) {}
