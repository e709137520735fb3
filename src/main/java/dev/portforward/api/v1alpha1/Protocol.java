package dev.portforward.api.v1alpha1;

/** Transport protocol of a forward. */
public enum Protocol {
  TCP,
  UDP
}
