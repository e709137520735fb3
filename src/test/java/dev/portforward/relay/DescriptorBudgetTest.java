package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.relay.config.RelayConfigParser;
import org.junit.jupiter.api.Test;

/** A relay whose forwards may need more file descriptors than it may open says so, with both figures. */
class DescriptorBudgetTest {

  private static final String CONFIG = """
      forwards:
        - {name: web, listen: {port: 8080}, target: {host: 10.0.0.5, port: 80}}
        - {name: dns, protocol: UDP, listen: {port: 5353}, target: {host: 10.0.0.5, port: 53}, maxConnections: 1000}
        - {name: small, listen: {port: 8081}, target: {host: 10.0.0.5, port: 81}, maxConnections: 100}
      """;

  @Test
  void countsTwoDescriptorsPerTcpConnectionAndOnePerUdpSession() throws Exception {
    // web: the default 10,000 connections; dns: 1,000 sessions; small: 100 connections; each its listener.
    assertThat(DescriptorBudget.needed(RelayConfigParser.parse(CONFIG).forwards()))
        .isEqualTo(DescriptorBudget.RESERVE + 20_001 + 1_001 + 201);
  }

  @Test
  void warnsWhenTheLimitIsBelowWhatTheForwardsMayHold() throws Exception {
    var forwards = RelayConfigParser.parse(CONFIG).forwards();
    long needed = DescriptorBudget.needed(forwards);

    assertThat(DescriptorBudget.shortfall(forwards, 20_000)).hasValueSatisfying(warning ->
        assertThat(warning).contains(needed + " file descriptors", "may open 20000", "every forward stops accepting"));
    assertThat(DescriptorBudget.shortfall(forwards, needed)).isEmpty();
    assertThat(DescriptorBudget.shortfall(forwards, 1_048_576)).isEmpty();
  }
}
