package dev.portforward.gateway;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * Port Control Protocol (RFC 6887) MAP messages, as pure functions over bytes. Addresses travel as
 * 16 bytes, IPv4 in its IPv4-mapped IPv6 form (section 5).
 */
public final class PcpCodec {

  public static final int VERSION = 2;
  public static final int OPCODE_MAP = 1;
  static final int RESPONSE_BIT = 0x80;
  /** Common header (24) plus MAP opcode data (36), without options. */
  public static final int MAP_LENGTH = 60;
  public static final int NONCE_LENGTH = 12;
  /** The version NAT-PMP uses: a NAT-PMP-only gateway answers a PCP request with it (RFC 6887 section 9). */
  static final int NATPMP_VERSION = 0;

  /** A decoded MAP response. {@code lifetime} is in seconds; {@code externalAddress} as the gateway said. */
  public record MapResponse(
      int resultCode, long lifetime, long epoch, byte[] nonce, int protocol, int internalPort, int externalPort,
      InetAddress externalAddress) {}

  private PcpCodec() {}

  /**
   * A MAP request (RFC 6887 sections 7.1 and 11.1) from {@code client} for {@code internalPort},
   * suggesting {@code externalPort} and any external address; lifetime 0 deletes the mapping.
   */
  public static byte[] mapRequest(
      byte[] nonce, Transport transport, InetAddress client, int internalPort, int externalPort, long lifetime) {
    if (nonce.length != NONCE_LENGTH) {
      throw new IllegalArgumentException("a PCP nonce has 12 bytes");
    }
    ByteBuffer b = ByteBuffer.allocate(MAP_LENGTH);
    b.put((byte) VERSION).put((byte) OPCODE_MAP).putShort((short) 0).putInt((int) lifetime);
    b.put(address16(client));
    b.put(nonce).put((byte) transport.number()).put(new byte[3]);
    b.putShort((short) internalPort).putShort((short) externalPort);
    // The all-zeros IPv4 address (::ffff:0.0.0.0): no preference for the external address.
    b.put(address16(null));
    return b.array();
  }

  /**
   * Reads a MAP response; empty when the bytes are no PCP MAP response at all. A NAT-PMP
   * gateway's "unsupported version" answer is reported as result code 1 (UNSUPP_VERSION).
   */
  public static Optional<MapResponse> decodeMapResponse(byte[] packet, int length) {
    if (length >= 2 && packet[0] == NATPMP_VERSION && (packet[1] & RESPONSE_BIT) != 0) {
      return Optional.of(new MapResponse(PcpResult.UNSUPP_VERSION.code(), 0, 0, new byte[0], 0, 0, 0, null));
    }
    if (length < MAP_LENGTH || packet[0] != VERSION || (packet[1] & 0xff) != (RESPONSE_BIT | OPCODE_MAP)) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(packet, 0, length);
    b.position(3);
    int result = b.get() & 0xff;
    long lifetime = Integer.toUnsignedLong(b.getInt());
    long epoch = Integer.toUnsignedLong(b.getInt());
    b.position(24);
    byte[] nonce = new byte[NONCE_LENGTH];
    b.get(nonce);
    int protocol = b.get() & 0xff;
    b.position(b.position() + 3);
    int internalPort = Short.toUnsignedInt(b.getShort());
    int externalPort = Short.toUnsignedInt(b.getShort());
    byte[] address = new byte[16];
    b.get(address);
    try {
      return Optional.of(new MapResponse(result, lifetime, epoch, nonce, protocol, internalPort, externalPort,
          InetAddress.getByAddress(address)));
    } catch (UnknownHostException impossible) {
      throw new IllegalStateException(impossible);
    }
  }

  /** Whether a response answers the request with this nonce, transport and internal port. */
  public static boolean answers(MapResponse response, byte[] nonce, Transport transport, int internalPort) {
    return Arrays.equals(response.nonce(), nonce) && response.protocol() == transport.number()
        && response.internalPort() == internalPort;
  }

  /** 16 bytes: IPv6 as is, IPv4 mapped (::ffff:a.b.c.d); null is the all-zeros IPv4 address. */
  static byte[] address16(InetAddress address) {
    byte[] out = new byte[16];
    if (address == null || address instanceof Inet4Address) {
      out[10] = (byte) 0xff;
      out[11] = (byte) 0xff;
      if (address != null) {
        System.arraycopy(address.getAddress(), 0, out, 12, 4);
      }
      return out;
    }
    return address.getAddress();
  }
}
