package dev.portforward.operator.policy;

import java.net.InetAddress;
import java.util.List;

/**
 * Where the cluster's API server is: the addresses no target may lead to and the ports its
 * endpoints listen on, which no forward may take.
 */
public record ApiServer(List<InetAddress> addresses, List<Integer> ports) {

  public ApiServer {
    addresses = List.copyOf(addresses);
    ports = List.copyOf(ports);
  }
}
