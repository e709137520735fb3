package dev.portforward.tunnel;

/** Why the tunnel server turned a request away; the {@code reason} label of its refusal counter. */
enum Refusal {
  /** Unknown user or key. */
  AUTH,
  /** A user's session or channel limit. */
  LIMIT,
  /** A session channel: shell, exec, subsystem, agent and X11 all need one, and none is served. */
  SESSION,
  /** An {@code -R} port the user may not bind, or one that cannot be bound. */
  LISTEN,
  /** An {@code -L}/{@code -D} destination outside the user's allowlist or inside the denylist. */
  DESTINATION;

  String label() {
    return name().toLowerCase();
  }
}
