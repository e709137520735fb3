package dev.portforward.agent.nft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.nft.FlowCuts.Dnat;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads the forwards back from the agent's table as the kernel lists it in JSON ({@code nft -j}):
 * after a restart, the table is the only record of what the previous agent DNATed. Each element
 * of a dispatch map names a forward's chain; the backends are the DNAT targets of that chain and
 * of the route chains it goes to.
 */
public final class TableListing {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** listen_any ((protocol . port), any local address) is only in tables that earlier agents wrote. */
  private static final Set<String> DISPATCH_MAPS = Set.of("listen_ip4", "listen_ip6", "listen_any");

  private TableListing() {}

  /** The forwards of a {@code nft -j list table} listing; none for an empty string (no table). */
  public static List<Dnat> forwards(String json) {
    if (json.isBlank()) {
      return List.of();
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new Nft.NftException("nft -j: unreadable listing: " + e.getMessage());
    }
    Map<Listen, Set<InetAddress>> listens = new LinkedHashMap<>();
    Map<String, List<JsonNode>> rules = new HashMap<>();
    for (JsonNode entry : root.path("nftables")) {
      JsonNode map = entry.path("map");
      if (DISPATCH_MAPS.contains(map.path("name").asText())) {
        for (JsonNode element : map.path("elem")) {
          dispatch(element, listens);
        }
      }
      JsonNode rule = entry.path("rule");
      if (rule.isObject()) {
        rules.computeIfAbsent(rule.path("chain").asText(), c -> new ArrayList<>()).add(rule.path("expr"));
      }
    }
    return listens.entrySet().stream()
        .map(e -> new Dnat(e.getKey().protocol(), e.getValue(), e.getKey().port(), backends(e.getKey().chain(), rules)))
        .toList();
  }

  /**
   * The listing less what traffic and the kernel's bookkeeping write into it: the elements of
   * sets that rules write into (the sources a rate limit has learnt, with their timers) and the
   * handles (new ones for the same rules after a whole replacement). Two such listings are equal
   * exactly when the rules are.
   */
  public static String withoutLearntElements(String json) {
    if (json.isBlank()) {
      return json;
    }
    try {
      JsonNode root = JSON.readTree(json);
      Set<String> written = new HashSet<>();
      for (JsonNode entry : root.path("nftables")) {
        for (JsonNode statement : entry.path("rule").path("expr")) {
          JsonNode update = statement.path("set");
          if (update.has("op") && update.path("set").asText().startsWith("@")) {
            written.add(update.path("set").asText().substring(1));
          }
        }
      }
      for (JsonNode entry : root.path("nftables")) {
        entry.fields().forEachRemaining(object -> {
          if (object.getValue() instanceof ObjectNode node) {
            node.remove("handle");
            if (object.getKey().equals("set") && written.contains(node.path("name").asText())) {
              node.remove("elem");
            }
          }
        });
      }
      return JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new Nft.NftException("nft -j: unreadable listing: " + e.getMessage());
    }
  }

  /** A forward's chain and the protocol and port it listens on; its addresses are gathered apart. */
  private record Listen(String chain, Protocol protocol, int port) {}

  /** An element [proto . (address .) port, goto chain] of a dispatch map. */
  private static void dispatch(JsonNode element, Map<Listen, Set<InetAddress>> listens) {
    JsonNode key = element.path(0).path("concat");
    String chain = element.path(1).path("goto").path("target").asText();
    if (!key.isArray() || chain.isEmpty()) {
      return;
    }
    Set<InetAddress> addresses = listens.computeIfAbsent(
        new Listen(chain, protocol(key.get(0)), key.get(key.size() - 1).asInt()), k -> new HashSet<>());
    if (key.size() == 3) {
      addresses.add(Cidr.parseAddress(key.get(1).asText()));
    }
  }

  /** The DNAT targets of {@code chain} and of every chain it jumps or goes to. */
  private static Set<Backend> backends(String forwardChain, Map<String, List<JsonNode>> rules) {
    Set<Backend> backends = new HashSet<>();
    Set<String> seen = new HashSet<>();
    Deque<String> chains = new ArrayDeque<>(List.of(forwardChain));
    while (!chains.isEmpty()) {
      String chain = chains.pop();
      if (!seen.add(chain)) {
        continue;
      }
      for (JsonNode expressions : rules.getOrDefault(chain, List.of())) {
        for (JsonNode statement : expressions) {
          for (String verdict : List.of("goto", "jump")) {
            if (statement.path(verdict).has("target")) {
              chains.push(statement.path(verdict).path("target").asText());
            }
          }
          if (statement.has("dnat")) {
            dnat(statement.path("dnat"), backends);
          }
        }
      }
    }
    return backends;
  }

  /** "dnat to A:P", or "dnat to numgen random mod N map { i : A . P, ... }". */
  private static void dnat(JsonNode dnat, Set<Backend> backends) {
    JsonNode address = dnat.path("addr");
    if (address.isTextual()) {
      backends.add(new Backend(Cidr.parseAddress(address.asText()), dnat.path("port").asInt()));
      return;
    }
    for (JsonNode entry : address.path("map").path("data").path("set")) {
      JsonNode target = entry.path(1).path("concat");
      if (target.size() == 2) {
        backends.add(new Backend(Cidr.parseAddress(target.get(0).asText()), target.get(1).asInt()));
      }
    }
  }

  private static Protocol protocol(JsonNode node) {
    return switch (node.asText().toLowerCase(Locale.ROOT)) {
      case "tcp", "6" -> Protocol.TCP;
      case "udp", "17" -> Protocol.UDP;
      default -> throw new Nft.NftException("nft -j: a dispatch map names protocol " + node + ", neither tcp nor udp");
    };
  }
}
