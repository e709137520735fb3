package dev.portforward.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class DefaultRouteTest {

  private static final String HEADER =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

  @Test
  void theUpDefaultRouteWithTheLowestMetricNamesTheGateway() throws Exception {
    String table = HEADER
        + "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        + "wlan0\t00000000\t01324D0A\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
        + "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";

    assertThat(DefaultRoute.gateway(table)).contains(InetAddress.getByName("192.168.1.1"));
  }

  @Test
  void withoutADefaultRouteThereIsNoGateway() {
    String table = HEADER + "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        // A default route that is down does not count.
        + "eth1\t00000000\t01324D0A\t0002\t0\t0\t0\t00000000\t0\t0\t0\n";

    assertThat(DefaultRoute.gateway(table)).isEmpty();
  }
}
