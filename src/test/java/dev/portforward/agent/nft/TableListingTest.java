package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.nft.FlowCuts.Dnat;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.net.InetAddress;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The forwards read back from {@code nft -j list table} (nft 1.0.6); DnatIT reads a real kernel's. */
class TableListingTest {

  @Test
  void forwardsAreReadFromTheDispatchMapsAndTheirChains() {
    String json = """
        {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "portforward", "handle": 3}},
        {"map": {"family": "inet", "name": "listen_ip4", "table": "portforward", "type": ["inet_proto", "ipv4_addr", "inet_service"], "map": "verdict",
          "elem": [[{"concat": ["udp", "192.0.2.10", 5353]}, {"goto": {"target": "fw_dns"}}],
                   [{"concat": ["tcp", "192.0.2.10", 8443]}, {"goto": {"target": "fw_admin"}}]]}},
        {"map": {"family": "inet", "name": "listen_ip6", "table": "portforward", "type": ["inet_proto", "ipv6_addr", "inet_service"], "map": "verdict",
          "elem": [[{"concat": ["tcp", "2001:db8::10", 8443]}, {"goto": {"target": "fw_admin"}}]]}},
        {"map": {"family": "inet", "name": "listen_any", "table": "portforward", "type": ["inet_proto", "inet_service"], "map": "verdict",
          "elem": [[{"concat": ["tcp", 80]}, {"goto": {"target": "fw_web"}}]]}},
        {"set": {"family": "inet", "name": "hairpin4", "table": "portforward", "type": ["ipv4_addr", "ipv4_addr"], "elem": [{"concat": ["10.244.4.4", "10.244.4.4"]}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_dns", "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@fw_dns_src4"}}, {"drop": null}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_dns", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}}, {"dnat": {"family": "ip", "addr": "10.244.3.9", "port": 53}}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_admin_r0", "expr": [{"dnat": {"family": "ip", "addr": "10.244.4.4", "port": 443}}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_admin", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@fw_admin_r0_src4"}}, {"goto": {"target": "fw_admin_r0"}}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_admin", "expr": [{"dnat": {"family": "ip6", "addr": "fd00::5", "port": 443}}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_web", "expr": [{"dnat": {"family": "ip", "addr": {"map": {"key": {"numgen": {"mode": "random", "mod": 2, "offset": 0}}, "data": {"set": [[0, {"concat": ["10.244.1.5", 8080]}], [1, {"concat": ["10.244.2.7", 8080]}]]}}}}}]}},
        {"rule": {"family": "inet", "table": "portforward", "chain": "fw_web", "expr": [{"drop": null}]}}]}
        """;

    assertThat(TableListing.forwards(json)).containsExactlyInAnyOrder(
        new Dnat(Protocol.UDP, Set.of(ip("192.0.2.10")), 5353, Set.of(backend("10.244.3.9", 53))),
        new Dnat(Protocol.TCP, Set.of(ip("192.0.2.10"), ip("2001:db8::10")), 8443,
            Set.of(backend("10.244.4.4", 443), backend("fd00::5", 443))),
        new Dnat(Protocol.TCP, Set.of(), 80, Set.of(backend("10.244.1.5", 8080), backend("10.244.2.7", 8080))));
  }

  @Test
  void sourcesARateLimitLearntAndHandlesAreNotPartOfTheRules() {
    String learnt = """
        {"nftables": [{"set": {"name": "fw_x_rate4", "handle": 8, "flags": ["timeout"], "elem": [{"elem": {"val": "10.77.1.9", "expires": 9}}]}},
        {"set": {"name": "fw_x_src4", "handle": 9, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}]}},
        {"rule": {"chain": "fw_x", "handle": 29, "expr": [{"set": {"op": "update", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@fw_x_rate4"}}, {"drop": null}]}}]}
        """;
    String fresh = learnt.replace("[{\"elem\": {\"val\": \"10.77.1.9\", \"expires\": 9}}]", "[]").replace("29", "31");

    assertThat(TableListing.withoutLearntElements(learnt)).isEqualTo(TableListing.withoutLearntElements(fresh))
        .contains("10.0.0.0").doesNotContain("10.77.1.9", "handle");
    assertThat(TableListing.withoutLearntElements(learnt))
        .isNotEqualTo(TableListing.withoutLearntElements(learnt.replace("10.0.0.0", "10.1.0.0")));
  }

  @Test
  void noTableHasNoForwards() {
    assertThat(TableListing.forwards("")).isEmpty();
  }

  private static InetAddress ip(String text) {
    return Cidr.parseAddress(text);
  }

  private static Backend backend(String address, int port) {
    return new Backend(ip(address), port);
  }
}
