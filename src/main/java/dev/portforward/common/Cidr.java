package dev.portforward.common;

import io.netty.util.NetUtil;
import java.net.InetAddress;

/**
 * An IPv4 or IPv6 prefix such as 10.0.0.0/8. Parsing never touches DNS: only address literals are
 * accepted, so a policy can never be steered by what a name server answers.
 */
public record Cidr(InetAddress network, int prefixLength) {

  public Cidr {
    int bits = network.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException("prefix length must be 0-" + bits + ", got " + prefixLength);
    }
    network = masked(network, prefixLength);
  }

  /** Parses "address/prefix", or a bare address as a single-host prefix. */
  public static Cidr parse(String text) {
    int slash = text.indexOf('/');
    InetAddress address = parseAddress(slash < 0 ? text : text.substring(0, slash));
    int bits = address.getAddress().length * 8;
    if (slash < 0) {
      return new Cidr(address, bits);
    }
    try {
      return new Cidr(address, Integer.parseInt(text.substring(slash + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a CIDR such as 10.0.0.0/8");
    }
  }

  /** Parses an IP address literal; names are refused rather than resolved. */
  public static InetAddress parseAddress(String text) {
    InetAddress address = NetUtil.createInetAddressFromIpAddressString(text);
    if (address == null) {
      throw new IllegalArgumentException("'" + text + "' is not an IP address");
    }
    return address;
  }

  public boolean contains(InetAddress address) {
    return address.getAddress().length == network.getAddress().length
        && masked(address, prefixLength).equals(network);
  }

  private static InetAddress masked(InetAddress address, int prefixLength) {
    byte[] bytes = address.getAddress();
    for (int bit = prefixLength; bit < bytes.length * 8; bit++) {
      bytes[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException("an address of " + bytes.length + " bytes", e);
    }
  }

  @Override
  public String toString() {
    return NetUtil.toAddressString(network) + "/" + prefixLength;
  }
}
