package dev.portforward.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The IPv4 default gateway from the kernel's routing table as /proc/net/route shows it: in a
 * home or office network, the router that speaks PCP, NAT-PMP and UPnP IGD.
 */
public final class DefaultRoute {

  private static final Path ROUTES = Path.of("/proc/net/route");
  private static final int RTF_UP = 0x1;
  private static final int RTF_GATEWAY = 0x2;

  private DefaultRoute() {}

  /** The gateway of this network namespace's default route, if it has one. */
  public static Optional<InetAddress> gateway() {
    try {
      return gateway(Files.readString(ROUTES));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * The gateway of the first up default route (destination and mask 0) with the lowest metric.
   * Addresses are hexadecimal in the host's byte order, which is little-endian on every platform
   * this runs on.
   */
  public static Optional<InetAddress> gateway(String table) {
    return table.lines().skip(1)
        .map(line -> line.trim().split("\\s+"))
        .filter(f -> f.length >= 8 && "00000000".equals(f[1]) && "00000000".equals(f[7]))
        .filter(f -> (Integer.parseInt(f[3], 16) & (RTF_UP | RTF_GATEWAY)) == (RTF_UP | RTF_GATEWAY))
        .min((a, b) -> Integer.compare(Integer.parseInt(a[6]), Integer.parseInt(b[6])))
        .map(f -> littleEndian(f[2]));
  }

  private static InetAddress littleEndian(String hex) {
    long value = Long.parseLong(hex, 16);
    byte[] address = {(byte) value, (byte) (value >> 8), (byte) (value >> 16), (byte) (value >> 24)};
    try {
      return InetAddress.getByAddress(address);
    } catch (UnknownHostException impossible) {
      throw new IllegalStateException(impossible);
    }
  }
}
