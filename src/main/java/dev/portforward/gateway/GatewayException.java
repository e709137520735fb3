package dev.portforward.gateway;

/**
 * A mapping that could not be made, removed or checked, with a message a person can act on. The
 * message is written here, never copied from the gateway's bytes: a gateway is not trusted to say
 * what ends up in a status.
 */
public final class GatewayException extends Exception {

  /** Whether a gateway answered and said no, as opposed to none answering at all. */
  private final boolean refused;

  private GatewayException(String message, boolean refused, Throwable cause) {
    super(message, cause);
    this.refused = refused;
  }

  /** No gateway answered, or its answers made no sense. */
  public static GatewayException unavailable(String message) {
    return new GatewayException(message, false, null);
  }

  public static GatewayException unavailable(String message, Throwable cause) {
    return new GatewayException(message, false, cause);
  }

  /** A gateway answered and refused. */
  public static GatewayException refused(String message) {
    return new GatewayException(message, true, null);
  }

  public boolean isRefused() {
    return refused;
  }
}
