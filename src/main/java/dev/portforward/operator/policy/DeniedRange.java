package dev.portforward.operator.policy;

import dev.portforward.common.Cidr;
import java.net.InetAddress;

/** A range no target may resolve to, and why, so a refusal can say what the address is. */
public record DeniedRange(Cidr cidr, String why) {

  public boolean contains(InetAddress address) {
    return cidr.contains(address);
  }
}
