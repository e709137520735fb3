package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class ConntrackTest {

  /** As conntrack 1.4.7 lists them with -o xml (standard output only). */
  @Test
  void flowsAreReadFromTheXmlListing() {
    String xml = """
        <?xml version="1.0" encoding="utf-8"?>
        <conntrack>
        <flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.77.91.2</src><dst>10.77.91.1</dst></layer3><layer4 protonum="17" protoname="udp"><sport>40000</sport><dport>5353</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.77.92.2</src><dst>10.77.91.2</dst></layer3><layer4 protonum="17" protoname="udp"><sport>5353</sport><dport>40000</dport></layer4></meta><meta direction="independent"><timeout>29</timeout><mark>0</mark><use>1</use><id>752021614</id></meta></flow>
        <flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>fd77:91::2</src><dst>fd77:91::1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>45527</sport><dport>9090</dport></layer4></meta><meta direction="reply"><layer3 protonum="10" protoname="ipv6"><src>fd77:92::2</src><dst>fd77:91::2</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>9091</sport><dport>45527</dport></layer4></meta><meta direction="independent"><state>ESTABLISHED</state><timeout>431999</timeout><mark>0</mark><use>1</use><id>1142278383</id><assured/></meta></flow>
        <flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.77.91.2</src><dst>10.77.91.1</dst></layer3><layer4 protonum="1" protoname="icmp"><type>8</type><code>0</code><id>7</id></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.77.91.1</src><dst>10.77.91.2</dst></layer3><layer4 protonum="1" protoname="icmp"><type>0</type><code>0</code><id>7</id></layer4></meta><meta direction="independent"><timeout>29</timeout><mark>0</mark><use>1</use><id>9</id></meta></flow>
        </conntrack>
        """;

    assertThat(Conntrack.flows(xml)).containsExactly(
        new Flow(Protocol.UDP, ip("10.77.91.2"), 40000, ip("10.77.91.1"), 5353, ip("10.77.92.2"), 5353),
        new Flow(Protocol.TCP, ip("fd77:91::2"), 45527, ip("fd77:91::1"), 9090, ip("fd77:92::2"), 9091));
  }

  @Test
  void anEmptyListingHasNoFlows() {
    assertThat(Conntrack.flows("")).isEmpty();
  }

  private static InetAddress ip(String text) {
    return Cidr.parseAddress(text);
  }
}
