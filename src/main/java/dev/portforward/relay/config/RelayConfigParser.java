package dev.portforward.relay.config;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.portforward.common.Cidr;
import dev.portforward.common.DeniedRange;
import dev.portforward.common.Durations;
import dev.portforward.relay.config.Forward.Protocol;
import dev.portforward.relay.config.Forward.ProxyHeader;
import dev.portforward.relay.config.Forward.Target;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Reads a relay config file (YAML or JSON) and checks all of it before any of it is used, so a bad
 * file never replaces a good one. Every problem is reported with the field it is about.
 *
 * <pre>
 * drainTimeout: 30s
 * deniedDestinations: [10.96.0.1/32]       # SOCKS5 never connects here (besides loopback, link-local...)
 * forwards:
 *   - name: web
 *     protocol: TCP                         # TCP | UDP | SOCKS5
 *     listen: {address: 0.0.0.0, port: 8080}
 *     target: {host: 10.0.0.5, port: 80}     # or targets: [{host, port, weight}, ...], chosen by weight
 *     proxyProtocol: V2                     # None | V1 | V2 (TCP)
 *     maxConnections: 10000
 *     idleTimeout: 1h
 *     connectTimeout: 10s
 *     sourceRanges: [192.168.0.0/16]
 *   - name: socks
 *     protocol: SOCKS5
 *     listen: {port: 1080}
 *     socks5:
 *       allowedDestinations: [10.0.0.0/8]
 *       usersDirectory: /etc/portforward/socks5-users   # one file per user, holding the password
 * </pre>
 */
public final class RelayConfigParser {

  static final int MAX_FORWARDS = 1000;
  /** Targets of one forward, as a PortForward's target.services. */
  static final int MAX_TARGETS = 16;
  static final int MAX_WEIGHT = 1_000_000;
  static final int MAX_CIDRS = 64;
  static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
  static final int DEFAULT_MAX_CONNECTIONS = 10_000;
  static final Duration DEFAULT_TCP_IDLE_TIMEOUT = Duration.ofHours(1);
  static final Duration DEFAULT_UDP_IDLE_TIMEOUT = Duration.ofMinutes(2);
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9./]{0,251}[a-z0-9])?");

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final InetAddress WILDCARD = Cidr.parseAddress("0.0.0.0");

  // The file's shape, before validation: everything optional, everything as written.
  record ConfigFile(String drainTimeout, List<String> deniedDestinations, List<ForwardEntry> forwards) {}

  record ForwardEntry(
      String name,
      String protocol,
      ListenEntry listen,
      TargetEntry target,
      List<TargetEntry> targets,
      String proxyProtocol,
      Integer maxConnections,
      String idleTimeout,
      String connectTimeout,
      List<String> sourceRanges,
      Socks5Entry socks5) {}

  record ListenEntry(String address, Integer port) {}

  record TargetEntry(String host, Integer port, Integer weight) {}

  record Socks5Entry(List<String> allowedDestinations, Boolean allowSmtp, String usersDirectory) {}

  private final InetAddress defaultListenAddress;
  private final List<String> problems = new ArrayList<>();
  private String file = "";

  private RelayConfigParser(InetAddress defaultListenAddress) {
    this.defaultListenAddress = defaultListenAddress;
  }

  /**
   * Reads a config file, or every {@code *.yaml}, {@code *.yml} and {@code *.json} file of a
   * directory (a mounted ConfigMap or a projected volume of several) as one config: forwards of
   * all files, the longest drainTimeout, every file's deniedDestinations. An empty directory is a
   * valid config without forwards. A listen without an address binds {@code defaultListenAddress}.
   */
  public static RelayConfig read(Path path, InetAddress defaultListenAddress) throws InvalidConfigException {
    Map<String, String> texts = new TreeMap<>();
    try {
      if (Files.isDirectory(path)) {
        try (Stream<Path> entries = Files.list(path)) {
          for (Path file : entries.filter(RelayConfigParser::isConfigFile).toList()) {
            texts.put(file.getFileName() + ": ", Files.readString(file));
          }
        }
      } else {
        texts.put("", Files.readString(path));
      }
    } catch (IOException e) {
      throw new InvalidConfigException(List.of(path + ": cannot read: " + e.getMessage()));
    }
    return parse(texts, defaultListenAddress);
  }

  /** One config text; a listen without an address binds every IPv4 address. */
  public static RelayConfig parse(String text) throws InvalidConfigException {
    return parse(Map.of("", text), WILDCARD);
  }

  /** Texts keyed by the prefix that their problems get (the file's name in a directory). */
  private static RelayConfig parse(Map<String, String> texts, InetAddress defaultListenAddress)
      throws InvalidConfigException {
    RelayConfigParser parser = new RelayConfigParser(defaultListenAddress);
    Map<String, ConfigFile> files = new TreeMap<>();
    texts.forEach((name, text) -> {
      parser.file = name;
      Optional.ofNullable(parser.shape(text)).ifPresent(file -> files.put(name, file));
    });
    RelayConfig config = parser.validate(files);
    if (!parser.problems.isEmpty()) {
      throw new InvalidConfigException(parser.problems);
    }
    return config;
  }

  /** Ignores what a mounted volume adds beside the files: {@code ..data} and its timestamped twins. */
  private static boolean isConfigFile(Path path) {
    String name = path.getFileName().toString();
    return !name.startsWith(".") && Files.isRegularFile(path)
        && (name.endsWith(".yaml") || name.endsWith(".yml") || name.endsWith(".json"));
  }

  private ConfigFile shape(String text) {
    try {
      ConfigFile file = YAML.readValue(text, ConfigFile.class);
      if (file == null) {
        problems.add(this.file + "the file is empty");
      }
      return file;
    } catch (JsonMappingException e) {
      problems.add(this.file + path(e) + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      problems.add(this.file + "not valid YAML: " + e.getMessage());
    }
    return null;
  }

  private RelayConfig validate(Map<String, ConfigFile> files) {
    List<Duration> drains = new ArrayList<>();
    List<DeniedRange> denied = new ArrayList<>(DeniedRange.ALWAYS);
    for (Map.Entry<String, ConfigFile> entry : files.entrySet()) {
      file = entry.getKey();
      ConfigFile config = entry.getValue();
      drains.add(duration("drainTimeout", config.drainTimeout(), DEFAULT_DRAIN_TIMEOUT));
      cidrs("deniedDestinations", config.deniedDestinations())
          .forEach(cidr -> denied.add(new DeniedRange(cidr, "in the relay's deniedDestinations")));
    }
    List<Forward> forwards = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> listeners = new HashSet<>();
    for (Map.Entry<String, ConfigFile> entry : files.entrySet()) {
      file = entry.getKey();
      List<ForwardEntry> entries = Optional.ofNullable(entry.getValue().forwards()).orElse(List.of());
      if (entries.size() > MAX_FORWARDS) {
        problem("forwards", "at most " + MAX_FORWARDS + " forwards, got " + entries.size());
      }
      for (int i = 0; i < entries.size(); i++) {
        String field = "forwards[" + i + "]";
        if (entries.get(i) == null) {
          problem(field, "is empty");
          continue;
        }
        Forward forward = forward(field, entries.get(i), List.copyOf(denied));
        if (forward == null) {
          continue;
        }
        if (!names.add(forward.name())) {
          problem(field + ".name", "'" + forward.name() + "' is used by an earlier forward");
        }
        // TCP and SOCKS5 share the stream socket space; UDP has its own.
        String socket = (forward.protocol() == Protocol.UDP ? "udp " : "tcp ") + forward.listen();
        if (!listeners.add(socket)) {
          problem(field + ".listen", forward.listen() + " is used by an earlier forward");
        }
        forwards.add(forward);
      }
    }
    Duration drain = drains.stream().max(Comparator.naturalOrder()).orElse(DEFAULT_DRAIN_TIMEOUT);
    return new RelayConfig(drain, List.copyOf(forwards));
  }

  private Forward forward(String field, ForwardEntry entry, List<DeniedRange> denied) {
    int before = problems.size();
    String name = entry.name();
    if (name == null || !NAME.matcher(name).matches()) {
      problem(field + ".name", "required: lower-case letters, digits, '-', '.', '/', at most 253 characters");
    }
    Protocol protocol = choice(field + ".protocol", entry.protocol(), Protocol.class, Protocol.TCP);
    InetSocketAddress listen = listen(field + ".listen", entry.listen());
    List<Target> targets = List.of();
    if (protocol == Protocol.SOCKS5) {
      if (entry.target() != null || entry.targets() != null) {
        problem(field + ".target", "not allowed with protocol SOCKS5: clients name the target");
      }
    } else if (entry.targets() != null) {
      targets = targets(field, entry);
    } else {
      targets = Stream.ofNullable(target(field + ".target", entry.target(), false)).toList();
    }
    ProxyHeader header = choice(field + ".proxyProtocol", entry.proxyProtocol(), ProxyHeader.class, ProxyHeader.None);
    if (protocol == Protocol.UDP && header != ProxyHeader.None) {
      problem(field + ".proxyProtocol", "only TCP and SOCKS5 forwards can send a PROXY protocol header");
    }
    int maxConnections = Optional.ofNullable(entry.maxConnections()).orElse(DEFAULT_MAX_CONNECTIONS);
    if (maxConnections < 1 || maxConnections > 1_000_000) {
      problem(field + ".maxConnections", "must be 1-1000000, got " + maxConnections);
    }
    Duration idle = duration(field + ".idleTimeout", entry.idleTimeout(),
        protocol == Protocol.UDP ? DEFAULT_UDP_IDLE_TIMEOUT : DEFAULT_TCP_IDLE_TIMEOUT);
    Duration connect = duration(field + ".connectTimeout", entry.connectTimeout(), DEFAULT_CONNECT_TIMEOUT);
    List<Cidr> sources = cidrs(field + ".sourceRanges", entry.sourceRanges());
    Optional<Socks5> socks5 = Optional.empty();
    if (protocol == Protocol.SOCKS5) {
      socks5 = Optional.ofNullable(socks5(field + ".socks5", entry.socks5(), denied, !sources.isEmpty()));
    } else if (entry.socks5() != null) {
      problem(field + ".socks5", "only allowed with protocol SOCKS5");
    }
    if (problems.size() > before) {
      return null;
    }
    return new Forward(name, protocol, listen, targets, header, maxConnections, idle, connect, sources, socks5);
  }

  private InetSocketAddress listen(String field, ListenEntry entry) {
    if (entry == null) {
      problem(field, "required: {address, port}");
      return null;
    }
    try {
      InetAddress address = entry.address() == null ? defaultListenAddress : Cidr.parseAddress(entry.address());
      return new InetSocketAddress(address, port(field + ".port", entry.port()));
    } catch (IllegalArgumentException e) {
      problem(field + ".address", e.getMessage());
      return null;
    }
  }

  /** targets: the weighted alternative to target (a PortForward's target.services), 1-16 of them. */
  private List<Target> targets(String field, ForwardEntry entry) {
    if (entry.target() != null) {
      problem(field + ".targets", "set target or targets, not both");
    }
    if (entry.targets().isEmpty() || entry.targets().size() > MAX_TARGETS) {
      problem(field + ".targets", "must hold 1-" + MAX_TARGETS + " targets, got " + entry.targets().size());
      return List.of();
    }
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < entry.targets().size(); i++) {
      Target target = target(field + ".targets[" + i + "]", entry.targets().get(i), true);
      if (target != null) {
        targets.add(target);
      }
    }
    return targets;
  }

  private Target target(String field, TargetEntry entry, boolean weighted) {
    if (entry == null || entry.host() == null || entry.host().isBlank()) {
      problem(field + ".host", "required: the backend's address or DNS name");
      return null;
    }
    int weight = Optional.ofNullable(entry.weight()).orElse(1);
    if (!weighted && entry.weight() != null) {
      problem(field + ".weight", "only in targets: a single target takes every connection");
    } else if (weight < 1 || weight > MAX_WEIGHT) {
      problem(field + ".weight", "must be 1-" + MAX_WEIGHT + ", got " + weight + " (leave a target without share out)");
      return null;
    }
    return new Target(entry.host(), port(field + ".port", entry.port()), weight);
  }

  private int port(String field, Integer port) {
    if (port == null || port < 1 || port > 65535) {
      problem(field, "must be 1-65535, got " + port);
      return 0;
    }
    return port;
  }

  private Socks5 socks5(String field, Socks5Entry entry, List<DeniedRange> denied, boolean fencedBySource) {
    if (entry == null) {
      problem(field, "required with protocol SOCKS5");
      return null;
    }
    List<Cidr> allowed = cidrs(field + ".allowedDestinations", entry.allowedDestinations());
    if (allowed.isEmpty()) {
      problem(field + ".allowedDestinations", "required: a SOCKS5 forward only connects to the ranges listed here");
    }
    Map<String, String> users = entry.usersDirectory() == null
        ? Map.of()
        : users(field + ".usersDirectory", Path.of(entry.usersDirectory()));
    if (users.isEmpty() && !fencedBySource) {
      problem(field, "needs users (usersDirectory) or sourceRanges: an open SOCKS5 proxy is never served");
    }
    return new Socks5(allowed, denied, Boolean.TRUE.equals(entry.allowSmtp()), users);
  }

  /** A mounted Secret: one file per user holding the password; Kubernetes' own ..data entries skipped. */
  private Map<String, String> users(String field, Path directory) {
    try (Stream<Path> files = Files.list(directory)) {
      Map<String, String> users = new TreeMap<>();
      for (Path file : files.filter(f -> !f.getFileName().toString().startsWith("..")).toList()) {
        if (Files.isRegularFile(file)) {
          users.put(file.getFileName().toString(), Files.readString(file).strip());
        }
      }
      if (users.isEmpty()) {
        problem(field, directory + " holds no user files");
      }
      return users;
    } catch (IOException e) {
      problem(field, "cannot read " + directory + ": " + e);
      return Map.of();
    }
  }

  private List<Cidr> cidrs(String field, List<String> values) {
    if (values == null) {
      return List.of();
    }
    if (values.size() > MAX_CIDRS) {
      problem(field, "at most " + MAX_CIDRS + " entries, got " + values.size());
    }
    List<Cidr> parsed = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      try {
        parsed.add(Cidr.parse(String.valueOf(values.get(i))));
      } catch (IllegalArgumentException e) {
        problem(field + "[" + i + "]", e.getMessage());
      }
    }
    return List.copyOf(parsed);
  }

  private Duration duration(String field, String text, Duration fallback) {
    if (text == null) {
      return fallback;
    }
    try {
      Duration duration = Durations.parse(text);
      if (duration.isZero()) {
        problem(field, "must be more than zero");
      }
      return duration;
    } catch (IllegalArgumentException e) {
      problem(field, e.getMessage());
      return fallback;
    }
  }

  private <E extends Enum<E>> E choice(String field, String text, Class<E> type, E fallback) {
    if (text == null) {
      return fallback;
    }
    E[] values = type.getEnumConstants();
    return Arrays.stream(values).filter(e -> e.name().equals(text)).findFirst().orElseGet(() -> {
      problem(field, "'" + text + "' is not one of " + Arrays.stream(values).map(Enum::name).collect(Collectors.joining(", ")));
      return fallback;
    });
  }

  private void problem(String field, String message) {
    problems.add(file + field + ": " + message);
  }

  /** forwards[2].listen.port, from Jackson's reference chain. */
  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      } else {
        path.append(path.isEmpty() ? "" : ".").append(ref.getFieldName());
      }
    }
    return path.isEmpty() ? "(top level)" : path.toString();
  }
}
