package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodePlanner;
import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.Route;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.NetNs;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every spec the CRD admits renders to rules the kernel accepts. Random PortForwards within the
 * CRD's bounds (names of any valid length, namespaces, any spelling of IPv4 and IPv6 addresses,
 * ports that collide, sourceRanges with host bits, routes, many forwards) go through the agent's
 * planner and renderer, and nft checks the result against a real kernel in a network namespace:
 * each whole table, and each update from the table before. A failure prints the seed; rerun it
 * with -Dproperty.seed=SEED.
 */
class RulesetPropertyIT {

  private static final int ROUNDS = 40;
  private static final int MANY = 2000;
  private static final String DNS_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

  @Test
  void everyAdmittedSpecRendersToRulesTheKernelAccepts() {
    long seed = Long.getLong("property.seed", System.nanoTime());
    Random random = new Random(seed);
    try (NetNs net = NetNs.create()) {
      Nft nft = new Nft(NetNs.inside(net.host("node")));
      List<NodeForward> before = List.of();
      int programmed = 0;
      for (int round = 0; round <= ROUNDS; round++) {
        Node node = node(random);
        List<PortForward> specs = new ArrayList<>();
        int count = round == ROUNDS ? MANY : 1 + random.nextInt(30);
        for (int i = 0; i < count; i++) {
          specs.add(portForward(random, node));
        }
        List<NodeForward> planned = NodePlanner.plan(node, view(specs), NodePlanner.Policy.DEFAULT).forwards();
        String context = "seed " + seed + " (rerun with -Dproperty.seed=" + seed + "), round " + round;
        try {
          // The kernel holds the previous round's table: the update from it, then the whole table.
          String update = RulesetRenderer.update(before, planned);
          if (round > 0 && !update.isEmpty()) {
            nft.check(update);
          }
          nft.apply(RulesetRenderer.render(planned));
        } catch (Nft.NftException | IllegalArgumentException e) {
          fail(context + ": " + e.getMessage());
        }
        programmed += planned.size();
        before = planned;
      }
      assertThat(programmed).as("seed %d: forwards that reached the kernel", seed).isGreaterThan(MANY / 4);
    }
  }

  private static Node node(Random random) {
    NodeBuilder node = new NodeBuilder().withNewMetadata().withName("node").endMetadata().withNewStatus()
        .addNewAddress().withType("InternalIP").withAddress(spell(random, address(random, true))).endAddress()
        .addNewAddress().withType("InternalIP").withAddress(spell(random, address(random, false))).endAddress()
        .endStatus();
    if (random.nextBoolean()) {
      node.editStatus().addNewAddress().withType("ExternalIP").withAddress(spell(random, address(random, true)))
          .endAddress().endStatus();
    }
    return node.build();
  }

  private static PortForward portForward(Random random, Node node) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder()
        .withNamespace(label(random, random.nextBoolean() ? 63 : 1 + random.nextInt(63)))
        .withName(subdomain(random, random.nextBoolean() ? 253 : 1 + random.nextInt(253)))
        .withGeneration(1L + random.nextInt(5))
        .withCreationTimestamp("2026-01-0" + (1 + random.nextInt(9)) + "T00:00:00Z")
        .build());
    PortForwardSpec spec = new PortForwardSpec();
    spec.setProtocol(random.nextBoolean() ? Protocol.TCP : Protocol.UDP);
    if (spec.getProtocol() == Protocol.TCP && random.nextInt(4) == 0) {
      spec.setApplicationProtocol(ApplicationProtocol.FTP);
    }
    Listen listen = new Listen();
    // A small range, so that forwards collide on ports as often as they would by accident.
    listen.setPort(random.nextInt(4) == 0 ? 1 + random.nextInt(65535) : 8000 + random.nextInt(20));
    if (random.nextBoolean()) {
      List<String> nodeAddresses = node.getStatus().getAddresses().stream().map(a -> a.getAddress()).toList();
      List<String> addresses = new ArrayList<>();
      for (int i = random.nextInt(4); i >= 0; i--) {
        addresses.add(random.nextInt(5) == 0 ? spell(random, address(random, random.nextBoolean()))
            : spell(random, Cidr.parseAddress(nodeAddresses.get(random.nextInt(nodeAddresses.size())))));
      }
      listen.setAddresses(addresses);
    }
    spec.setListen(listen);
    spec.setSourceRanges(cidrs(random, random.nextInt(3) == 0 ? 0 : random.nextInt(6)));
    List<Route> routes = new ArrayList<>();
    for (int i = random.nextInt(4) == 0 ? random.nextInt(4) : 0; i > 0; i--) {
      Route route = new Route();
      route.setSourceRanges(cidrs(random, 1 + random.nextInt(3)));
      route.setTarget(external(random));
      routes.add(route);
    }
    spec.setRoutes(routes);
    spec.setTarget(external(random));
    pf.setSpec(spec);
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(pf.getMetadata().getGeneration());
    status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("True").build()));
    pf.setStatus(status);
    return pf;
  }

  private static Target external(Random random) {
    ExternalTarget external = new ExternalTarget();
    external.setHost(spell(random, address(random, random.nextInt(3) > 0)));
    external.setPort(1 + random.nextInt(65535));
    Target target = new Target();
    target.setExternal(external);
    return target;
  }

  /** CIDRs as isCIDR admits them: either family, any prefix length, host bits set or not. */
  private static List<String> cidrs(Random random, int count) {
    List<String> cidrs = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      boolean v4 = random.nextBoolean();
      cidrs.add(spell(random, address(random, v4)) + "/" + random.nextInt(v4 ? 33 : 129));
    }
    return cidrs;
  }

  /** A unicast address in the test ranges (10.77.0.0/16, fd77::/16); never one that is always denied. */
  private static InetAddress address(Random random, boolean v4) {
    byte[] bytes = new byte[v4 ? 4 : 16];
    random.nextBytes(bytes);
    bytes[0] = (byte) (v4 ? 10 : 0xfd);
    bytes[1] = 0x4d;
    if (random.nextBoolean()) {
      // Mostly zeros, so that IPv6 compresses and spellings differ the most.
      for (int i = 2; i < bytes.length - 1; i++) {
        bytes[i] = 0;
      }
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One of the spellings isIP admits: compressed, full, zero-padded, upper case. */
  private static String spell(Random random, InetAddress address) {
    if (address instanceof Inet4Address) {
      return address.getHostAddress();
    }
    byte[] bytes = address.getAddress();
    List<String> groups = new ArrayList<>();
    boolean padded = random.nextBoolean();
    for (int i = 0; i < 16; i += 2) {
      String group = HexFormat.of().formatHex(bytes, i, i + 2);
      groups.add(padded ? group : group.replaceFirst("^0{1,3}", ""));
    }
    String text = switch (random.nextInt(3)) {
      case 0 -> String.join(":", groups);
      case 1 -> io.netty.util.NetUtil.toAddressString(address);
      default -> compressFirstZeros(groups);
    };
    return random.nextBoolean() ? text.toUpperCase(Locale.ROOT) : text;
  }

  /** "::" in place of the first run of zero groups, which is valid even where it is not the longest. */
  private static String compressFirstZeros(List<String> groups) {
    int start = -1;
    int end = -1;
    for (int i = 0; i < groups.size(); i++) {
      if (groups.get(i).matches("0+")) {
        if (start < 0) {
          start = i;
        }
        end = i;
      } else if (start >= 0) {
        break;
      }
    }
    if (start < 0) {
      return String.join(":", groups);
    }
    return String.join(":", groups.subList(0, start)) + "::" + String.join(":", groups.subList(end + 1, groups.size()));
  }

  /** A DNS label (a namespace): lower-case alphanumerics and '-', alphanumeric at both ends. */
  private static String label(Random random, int length) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < length; i++) {
      boolean edge = i == 0 || i == length - 1;
      out.append(!edge && random.nextInt(8) == 0 ? '-' : DNS_CHARS.charAt(random.nextInt(DNS_CHARS.length())));
    }
    return out.toString();
  }

  /** A DNS subdomain (an object name): labels joined by dots, at most 253 characters. */
  private static String subdomain(Random random, int length) {
    StringBuilder out = new StringBuilder();
    while (out.length() < length) {
      int left = length - out.length() - (out.isEmpty() ? 0 : 1);
      if (left < 1) {
        out.append(DNS_CHARS.charAt(random.nextInt(DNS_CHARS.length())));
        continue;
      }
      if (!out.isEmpty()) {
        out.append('.');
      }
      out.append(label(random, Math.min(left, 1 + random.nextInt(63))));
    }
    return out.toString();
  }

  private static NodePlanner.View view(List<PortForward> forwards) {
    return new NodePlanner.View() {
      @Override public List<PortForward> portForwards() {
        return forwards;
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return Optional.empty();
      }

      @Override public List<EndpointSlice> endpointSlices(String namespace, String service) {
        return List.of();
      }

      @Override public List<EndpointSlice> forwardSlices(String namespace, String portForward) {
        return List.of();
      }
    };
  }
}
