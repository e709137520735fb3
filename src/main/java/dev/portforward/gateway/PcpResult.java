package dev.portforward.gateway;

import java.util.Arrays;

/** PCP result codes (RFC 6887 section 7.4), with what each means for the person reading status. */
public enum PcpResult {
  SUCCESS(0, "success"),
  UNSUPP_VERSION(1, "the gateway does not speak this PCP version"),
  NOT_AUTHORIZED(2, "the gateway does not allow this host to map ports"),
  MALFORMED_REQUEST(3, "the gateway found the request malformed"),
  UNSUPP_OPCODE(4, "the gateway does not support mapping ports over PCP"),
  UNSUPP_OPTION(5, "the gateway does not support a requested option"),
  MALFORMED_OPTION(6, "the gateway found an option malformed"),
  NETWORK_FAILURE(7, "the gateway has no working external connection"),
  NO_RESOURCES(8, "the gateway is out of mapping resources"),
  UNSUPP_PROTOCOL(9, "the gateway does not map this transport protocol"),
  USER_EX_QUOTA(10, "this host has reached the gateway's quota of mappings"),
  CANNOT_PROVIDE_EXTERNAL(11, "the gateway cannot provide this external port (is it taken?)"),
  ADDRESS_MISMATCH(12, "the gateway sees this host behind another NAT (address mismatch)"),
  EXCESSIVE_REMOTE_PEERS(13, "the gateway refused: too many remote peers");

  private final int code;
  private final String meaning;

  PcpResult(int code, String meaning) {
    this.code = code;
    this.meaning = meaning;
  }

  public int code() {
    return code;
  }

  /** A message for a result code; unknown codes are named by number only. */
  public static String describe(int code) {
    return Arrays.stream(values()).filter(r -> r.code == code).findFirst()
        .map(r -> r.meaning + " (PCP result " + r.name() + ")")
        .orElse("the gateway refused with PCP result code " + code);
  }
}
