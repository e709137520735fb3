package dev.portforward.operator.target;

import java.util.List;

/**
 * What a target resolved to: either the backends (possibly none ready yet), or the reason it
 * could not be resolved, as a ResolvedRefs condition would say it.
 *
 * @param backends every address the target resolved to, each checked against the policy
 * @param readyBackends how many of them take new connections now (for target.services, only those
 *     of Services with a weight above 0)
 */
public record Resolution(boolean resolved, String reason, String message, List<Backend> backends, long readyBackends) {

  public Resolution(boolean resolved, String reason, String message, List<Backend> backends) {
    this(resolved, reason, message, backends, backends.stream().filter(Backend::ready).count());
  }

  static Resolution unresolved(String reason, String message) {
    return new Resolution(false, reason, message, List.of());
  }

  static Resolution resolved(String message, List<Backend> backends) {
    return new Resolution(true, "ResolvedRefs", message, List.copyOf(backends));
  }

  static Resolution resolved(String message, List<Backend> backends, long readyBackends) {
    return new Resolution(true, "ResolvedRefs", message, List.copyOf(backends), readyBackends);
  }
}
