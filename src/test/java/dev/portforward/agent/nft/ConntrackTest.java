package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.agent.nft.Conntrack.Target;
import org.junit.jupiter.api.Test;

class ConntrackTest {

  /** The DNAT statements as `nft list table` prints them (the golden ruleset, read back from a kernel). */
  @Test
  void backendsAreReadBackFromATableListing() {
    String listing = """
        chain fw_3e499e371f2fe662 {
        		meta nfproto ipv4 meta l4proto udp dnat ip to 10.244.3.9:53
        		drop
        	}
        		meta nfproto ipv6 meta l4proto tcp dnat ip6 to [fd00::5]:443
        		meta nfproto ipv4 meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.244.1.5 . 8080, 1 : 10.244.2.7 . 8080 }
        		meta nfproto ipv6 meta l4proto udp dnat ip6 to numgen random mod 2 map { 0 : fd00::1 . 53,
        			     1 : fd00:0:0::2 . 53 }
        """;
    assertThat(Conntrack.targetsIn(listing)).containsExactlyInAnyOrder(
        new Target("udp", "10.244.3.9", 53),
        new Target("tcp", "fd00::5", 443),
        new Target("tcp", "10.244.1.5", 8080),
        new Target("tcp", "10.244.2.7", 8080),
        new Target("udp", "fd00::1", 53),
        new Target("udp", "fd00::2", 53));
  }

  @Test
  void anEmptyTableHasNoBackends() {
    assertThat(Conntrack.targetsIn("")).isEmpty();
  }
}
