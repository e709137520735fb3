package dev.portforward.operator.target;

import java.util.List;

/**
 * What a target resolved to: either the backends (possibly none ready yet), or the reason it
 * could not be resolved, as a ResolvedRefs condition would say it.
 */
public record Resolution(boolean resolved, String reason, String message, List<Backend> backends) {

  static Resolution unresolved(String reason, String message) {
    return new Resolution(false, reason, message, List.of());
  }

  static Resolution resolved(String message, List<Backend> backends) {
    return new Resolution(true, "ResolvedRefs", message, List.copyOf(backends));
  }

  public long readyBackends() {
    return backends.stream().filter(Backend::ready).count();
  }
}
