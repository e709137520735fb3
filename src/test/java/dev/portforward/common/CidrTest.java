package dev.portforward.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CidrTest {

  @Test
  void containsAddressesInsideThePrefixOnly() {
    Cidr cidr = Cidr.parse("10.1.0.0/16");
    assertThat(cidr.contains(Cidr.parseAddress("10.1.255.7"))).isTrue();
    assertThat(cidr.contains(Cidr.parseAddress("10.2.0.1"))).isFalse();
    assertThat(cidr.contains(Cidr.parseAddress("::ffff:10.1.0.1"))).isTrue();
    assertThat(Cidr.parse("2001:db8::/32").contains(Cidr.parseAddress("2001:db8:1::1"))).isTrue();
    assertThat(Cidr.parse("2001:db8::/32").contains(Cidr.parseAddress("10.1.0.1"))).isFalse();
  }

  @Test
  void masksHostBitsAndTreatsABareAddressAsOneHost() {
    assertThat(Cidr.parse("10.1.2.3/8")).hasToString("10.0.0.0/8");
    assertThat(Cidr.parse("192.0.2.7")).hasToString("192.0.2.7/32");
    assertThat(Cidr.parse("::1")).hasToString("::1/128");
  }

  @Test
  void refusesPrefixesTooLongAndNamesInsteadOfResolvingThem() {
    assertThatThrownBy(() -> Cidr.parse("10.0.0.1/33")).hasMessageContaining("0-32");
    assertThatThrownBy(() -> Cidr.parse("localhost/8")).hasMessage("'localhost' is not an IP address");
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/x")).hasMessageContaining("not a CIDR");
  }
}
