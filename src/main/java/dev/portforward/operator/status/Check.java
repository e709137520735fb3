package dev.portforward.operator.status;

/** The outcome of one condition: whether it holds, its reason, and a message a person can act on. */
public record Check(boolean ok, String reason, String message) {

  public static Check ok(String reason, String message) {
    return new Check(true, reason, message);
  }

  public static Check fail(String reason, String message) {
    return new Check(false, reason, message);
  }
}
