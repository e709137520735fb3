package dev.portforward.common;

import java.net.InetAddress;
import java.util.List;

/** A range no target may resolve to, and why, so a refusal can say what the address is. */
public record DeniedRange(Cidr cidr, String why) {

  /** Always denied, whatever the settings say: targets here reach the node or the cloud itself. */
  public static final List<DeniedRange> ALWAYS =
      List.of(
          denied("127.0.0.0/8", "loopback"),
          denied("::1/128", "loopback"),
          denied("0.0.0.0/8", "an unspecified address"),
          denied("::/128", "an unspecified address"),
          denied("169.254.0.0/16", "link-local, where cloud metadata services live"),
          denied("fe80::/10", "link-local"),
          denied("fd00:ec2::254/128", "a cloud metadata service"),
          denied("100.100.100.200/32", "a cloud metadata service"));

  public boolean contains(InetAddress address) {
    return cidr.contains(address);
  }

  private static DeniedRange denied(String cidr, String why) {
    return new DeniedRange(Cidr.parse(cidr), why);
  }
}
