package dev.portforward.gateway;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Optional;

/** NAT-PMP (RFC 6886) messages, as pure functions over bytes. */
public final class NatPmpCodec {

  static final int VERSION = 0;
  static final int OPCODE_EXTERNAL_ADDRESS = 0;
  static final int RESPONSE_BIT = 0x80;

  /** The answer to an external address request (section 3.2). */
  public record AddressResponse(int resultCode, long epoch, InetAddress externalAddress) {}

  /** The answer to a mapping request (section 3.3); lifetime in seconds. */
  public record MapResponse(int resultCode, long epoch, int opcode, int internalPort, int externalPort, long lifetime) {}

  private NatPmpCodec() {}

  public static byte[] externalAddressRequest() {
    return new byte[] {VERSION, OPCODE_EXTERNAL_ADDRESS};
  }

  /** Opcode 1 maps UDP, 2 maps TCP. */
  public static int opcode(Transport transport) {
    return transport == Transport.UDP ? 1 : 2;
  }

  /** A mapping request; lifetime 0 deletes the mapping of {@code internalPort} (section 3.4). */
  public static byte[] mapRequest(Transport transport, int internalPort, int externalPort, long lifetime) {
    return ByteBuffer.allocate(12)
        .put((byte) VERSION).put((byte) opcode(transport)).putShort((short) 0)
        .putShort((short) internalPort).putShort((short) externalPort).putInt((int) lifetime)
        .array();
  }

  public static Optional<AddressResponse> decodeAddressResponse(byte[] packet, int length) {
    if (!isResponse(packet, length, OPCODE_EXTERNAL_ADDRESS, 4)) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(packet, 0, length);
    int result = Short.toUnsignedInt(b.getShort(2));
    long epoch = Integer.toUnsignedLong(b.getInt(4));
    if (result != 0 || length < 12) {
      return Optional.of(new AddressResponse(result, epoch, null));
    }
    byte[] address = new byte[4];
    b.position(8);
    b.get(address);
    try {
      return Optional.of(new AddressResponse(result, epoch, InetAddress.getByAddress(address)));
    } catch (UnknownHostException impossible) {
      throw new IllegalStateException(impossible);
    }
  }

  public static Optional<MapResponse> decodeMapResponse(byte[] packet, int length, Transport transport) {
    int opcode = opcode(transport);
    if (!isResponse(packet, length, opcode, 4)) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(packet, 0, length);
    int result = Short.toUnsignedInt(b.getShort(2));
    long epoch = Integer.toUnsignedLong(b.getInt(4));
    if (result != 0 || length < 16) {
      return Optional.of(new MapResponse(result, epoch, opcode, 0, 0, 0));
    }
    return Optional.of(new MapResponse(result, epoch, opcode, Short.toUnsignedInt(b.getShort(8)),
        Short.toUnsignedInt(b.getShort(10)), Integer.toUnsignedLong(b.getInt(12))));
  }

  /** Result codes of section 3.5, for the person reading status. */
  public static String describe(int code) {
    return switch (code) {
      case 1 -> "the gateway does not speak NAT-PMP version 0";
      case 2 -> "the gateway refused: mapping is disabled or not allowed for this host";
      case 3 -> "the gateway has no working external connection";
      case 4 -> "the gateway is out of mapping resources (is the external port taken?)";
      case 5 -> "the gateway does not support this NAT-PMP operation";
      default -> "the gateway refused with NAT-PMP result code " + code;
    };
  }

  private static boolean isResponse(byte[] packet, int length, int opcode, int minimum) {
    // Result code and epoch need 8 bytes; every response has at least them.
    return length >= Math.max(minimum, 8) && packet[0] == VERSION && (packet[1] & 0xff) == (RESPONSE_BIT | opcode);
  }
}
