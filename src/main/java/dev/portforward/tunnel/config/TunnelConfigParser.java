package dev.portforward.tunnel.config;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.portforward.common.Cidr;
import dev.portforward.common.DeniedRange;
import dev.portforward.common.DestinationRules;
import dev.portforward.common.Durations;
import dev.portforward.tunnel.config.TunnelConfigFile.Keepalive;
import dev.portforward.tunnel.config.TunnelConfigFile.Listen;
import dev.portforward.tunnel.config.TunnelConfigFile.User;
import dev.portforward.tunnel.config.TunnelUser.AuthorizedKey;
import dev.portforward.tunnel.config.TunnelUser.RemoteForward;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;

/**
 * Reads the tunnel server's config file (YAML or JSON) and checks all of it before any of it is
 * used, so a bad file never replaces a good one; every problem names its field.
 *
 * <pre>
 * listen: {address: 0.0.0.0, port: 2222}
 * hostKeyFile: /etc/portforward/tunnel/host-key
 * remoteForwardAddress: 0.0.0.0                 # default 127.0.0.1, as OpenSSH's GatewayPorts no
 * keepalive: {interval: 10s, timeout: 25s}
 * connectTimeout: 10s
 * deniedDestinations: [10.96.0.1]
 * userCertificateAuthorities: ["ssh-ed25519 AAAA... users-ca"]   # optional
 * users:
 *   - name: alice
 *     authorizedKeys: ["ssh-ed25519 AAAA... alice@laptop"]
 *     authorizedKeysFile: /etc/portforward/tunnel/keys/alice   # authorized_keys format
 *     remoteForwards: [{name: web, port: 8080}]
 *     allowedDestinations: [10.0.0.0/8]
 *     allowSmtp: false
 *     maxChannels: 100
 *     maxSessions: 4
 * </pre>
 */
public final class TunnelConfigParser {

  static final int DEFAULT_SSH_PORT = 2222;
  static final Duration DEFAULT_KEEPALIVE_INTERVAL = Duration.ofSeconds(10);
  static final Duration DEFAULT_KEEPALIVE_TIMEOUT = Duration.ofSeconds(25);
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  static final int DEFAULT_MAX_CHANNELS = 100;
  static final int DEFAULT_MAX_SESSIONS = 4;
  static final int MAX_USERS = 1000;
  static final int MAX_ENTRIES = 64;
  /** Linux user names: what OpenSSH sends as {@code user@host}. */
  private static final Pattern USER = Pattern.compile("[a-z_][a-z0-9_.-]{0,62}");
  /** A DNS label, as a Service name must be. */
  private static final Pattern FORWARD_NAME = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final InetAddress WILDCARD = Cidr.parseAddress("0.0.0.0");
  private static final InetAddress LOOPBACK = Cidr.parseAddress("127.0.0.1");

  private final List<String> problems = new ArrayList<>();

  private TunnelConfigParser() {}

  public static TunnelConfig read(Path path) throws InvalidTunnelConfigException {
    try {
      return parse(Files.readString(path));
    } catch (IOException e) {
      throw new InvalidTunnelConfigException(List.of(path + ": cannot read: " + e.getMessage()));
    }
  }

  public static TunnelConfig parse(String text) throws InvalidTunnelConfigException {
    TunnelConfigParser parser = new TunnelConfigParser();
    TunnelConfig config = parser.validate(parser.shape(text));
    if (!parser.problems.isEmpty()) {
      throw new InvalidTunnelConfigException(parser.problems);
    }
    return config;
  }

  private TunnelConfigFile shape(String text) {
    try {
      TunnelConfigFile file = YAML.readValue(text, TunnelConfigFile.class);
      if (file == null) {
        problems.add("the file is empty");
      }
      return file;
    } catch (JsonMappingException e) {
      problems.add(path(e) + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      problems.add("not valid YAML: " + e.getMessage());
    }
    return null;
  }

  private TunnelConfig validate(TunnelConfigFile file) {
    if (file == null) {
      return null;
    }
    InetSocketAddress listen = listen(file.listen());
    Path hostKey = null;
    if (file.hostKeyFile() == null || file.hostKeyFile().isBlank()) {
      problem("hostKeyFile", "required: the server's private host key (OpenSSH format, e.g. from ssh-keygen -t ed25519)");
    } else {
      hostKey = Path.of(file.hostKeyFile());
    }
    // Loopback unless said otherwise, as OpenSSH's sshd binds -R ports (GatewayPorts no): a
    // server run by hand does not open its users' ports to the network by surprise.
    InetAddress remoteAddress = address("remoteForwardAddress", file.remoteForwardAddress(), LOOPBACK);
    Keepalive keepalive = Optional.ofNullable(file.keepalive()).orElse(new Keepalive(null, null));
    Duration interval = duration("keepalive.interval", keepalive.interval(), DEFAULT_KEEPALIVE_INTERVAL);
    Duration timeout = duration("keepalive.timeout", keepalive.timeout(), DEFAULT_KEEPALIVE_TIMEOUT);
    if (timeout.compareTo(interval) <= 0) {
      problem("keepalive.timeout", "must be longer than keepalive.interval (" + interval + "), got " + timeout);
    }
    Duration connect = duration("connectTimeout", file.connectTimeout(), DEFAULT_CONNECT_TIMEOUT);
    List<DeniedRange> denied = new ArrayList<>(DeniedRange.ALWAYS);
    cidrs("deniedDestinations", file.deniedDestinations())
        .forEach(cidr -> denied.add(new DeniedRange(cidr, "in the tunnel's deniedDestinations")));
    List<AuthorizedKey> authorities = new ArrayList<>();
    List<String> caLines = Optional.ofNullable(file.userCertificateAuthorities()).orElse(List.of());
    if (caLines.size() > MAX_ENTRIES) {
      problem("userCertificateAuthorities", "at most " + MAX_ENTRIES + " entries, got " + caLines.size());
    }
    for (int i = 0; i < caLines.size(); i++) {
      key("userCertificateAuthorities[" + i + "]", caLines.get(i)).ifPresent(authorities::add);
    }
    List<User> entries = Optional.ofNullable(file.users()).orElse(List.of());
    if (entries.size() > MAX_USERS) {
      problem("users", "at most " + MAX_USERS + " users, got " + entries.size());
    }
    List<TunnelUser> users = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Map<Integer, String> portOwners = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      String field = "users[" + i + "]";
      if (entries.get(i) == null) {
        problem(field, "is empty");
        continue;
      }
      TunnelUser user = user(field, entries.get(i), List.copyOf(denied), !authorities.isEmpty());
      if (user == null) {
        continue;
      }
      if (!names.add(user.name())) {
        problem(field + ".name", "'" + user.name() + "' is used by an earlier user");
      }
      for (RemoteForward forward : user.remoteForwards()) {
        String owner = portOwners.putIfAbsent(forward.port(), user.name());
        if (owner != null) {
          problem(field + ".remoteForwards", "port " + forward.port() + " is already " + owner + "'s: each port belongs to one user");
        }
        if (listen != null && forward.port() == listen.getPort()) {
          problem(field + ".remoteForwards", "port " + forward.port() + " is the server's own SSH port");
        }
      }
      users.add(user);
    }
    if (!problems.isEmpty()) {
      return null;
    }
    return new TunnelConfig(listen, hostKey, remoteAddress, interval, timeout, connect, List.copyOf(authorities),
        List.copyOf(users));
  }

  private TunnelUser user(String field, User entry, List<DeniedRange> denied, boolean certificates) {
    int before = problems.size();
    if (entry.name() == null || !USER.matcher(entry.name()).matches()) {
      problem(field + ".name", "required: a user name such as alice (lower-case letters, digits, '_', '.', '-')");
    }
    List<AuthorizedKey> keys = new ArrayList<>();
    List<String> lines = Optional.ofNullable(entry.authorizedKeys()).orElse(List.of());
    for (int i = 0; i < lines.size(); i++) {
      key(field + ".authorizedKeys[" + i + "]", lines.get(i)).ifPresent(keys::add);
    }
    if (entry.authorizedKeysFile() != null) {
      try {
        List<String> fileLines = Files.readAllLines(Path.of(entry.authorizedKeysFile()));
        for (int i = 0; i < fileLines.size(); i++) {
          String line = fileLines.get(i).strip();
          if (!line.isEmpty() && !line.startsWith("#")) {
            key(field + ".authorizedKeysFile " + entry.authorizedKeysFile() + " line " + (i + 1), line).ifPresent(keys::add);
          }
        }
      } catch (IOException e) {
        problem(field + ".authorizedKeysFile", "cannot read " + entry.authorizedKeysFile() + ": " + e);
      }
    }
    if (keys.isEmpty() && problems.size() == before && !certificates) {
      problem(field, "needs authorizedKeys or authorizedKeysFile (or userCertificateAuthorities): a user without a key could never log in");
    }
    List<RemoteForward> forwards = new ArrayList<>();
    List<TunnelConfigFile.RemoteForward> forwardEntries = Optional.ofNullable(entry.remoteForwards()).orElse(List.of());
    if (forwardEntries.size() > MAX_ENTRIES) {
      problem(field + ".remoteForwards", "at most " + MAX_ENTRIES + " entries, got " + forwardEntries.size());
    }
    Set<String> forwardNames = new HashSet<>();
    Set<Integer> ports = new HashSet<>();
    for (int i = 0; i < forwardEntries.size(); i++) {
      String at = field + ".remoteForwards[" + i + "]";
      TunnelConfigFile.RemoteForward forward = forwardEntries.get(i);
      if (forward == null || forward.name() == null || !FORWARD_NAME.matcher(forward.name()).matches()) {
        problem(at + ".name", "required: a DNS label (lower-case letters, digits, '-'), the name of its Service");
        continue;
      }
      if (forward.port() == null || forward.port() < 1 || forward.port() > 65535) {
        problem(at + ".port", "must be 1-65535, got " + forward.port());
        continue;
      }
      if (!forwardNames.add(forward.name()) || !ports.add(forward.port())) {
        problem(at, "name and port must differ from the user's other remote forwards");
      }
      forwards.add(new RemoteForward(forward.name(), forward.port()));
    }
    List<Cidr> allowed = cidrs(field + ".allowedDestinations", entry.allowedDestinations());
    int maxChannels = limit(field + ".maxChannels", entry.maxChannels(), DEFAULT_MAX_CHANNELS);
    int maxSessions = limit(field + ".maxSessions", entry.maxSessions(), DEFAULT_MAX_SESSIONS);
    if (problems.size() > before) {
      return null;
    }
    DestinationRules destinations =
        new DestinationRules(allowed, denied, Boolean.TRUE.equals(entry.allowSmtp()), field);
    return new TunnelUser(entry.name(), List.copyOf(keys), List.copyOf(forwards), destinations, maxChannels, maxSessions);
  }

  /** One authorized_keys line; options (from=, command=...) are refused rather than ignored. */
  private Optional<AuthorizedKey> key(String field, String line) {
    try {
      AuthorizedKeyEntry entry = AuthorizedKeyEntry.parseAuthorizedKeyEntry(line == null ? "" : line.strip());
      if (entry == null) {
        problem(field, "empty");
        return Optional.empty();
      }
      if (entry.getLoginOptions() != null && !entry.getLoginOptions().isEmpty()) {
        problem(field, "authorized_keys options are not supported; the config says what a user may do");
        return Optional.empty();
      }
      PublicKey key = entry.resolvePublicKey(null, PublicKeyEntryResolver.FAILING);
      return Optional.of(new AuthorizedKey(KeyUtils.getFingerPrint(key), Optional.ofNullable(entry.getComment()).orElse("")));
    } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
      problem(field, "not a public key such as 'ssh-ed25519 AAAA... comment': " + e.getMessage());
      return Optional.empty();
    }
  }

  private InetSocketAddress listen(Listen entry) {
    Listen listen = Optional.ofNullable(entry).orElse(new Listen(null, null));
    InetAddress address = address("listen.address", listen.address(), WILDCARD);
    int port = Optional.ofNullable(listen.port()).orElse(DEFAULT_SSH_PORT);
    if (port < 1 || port > 65535) {
      problem("listen.port", "must be 1-65535, got " + port);
      return null;
    }
    return address == null ? null : new InetSocketAddress(address, port);
  }

  private InetAddress address(String field, String text, InetAddress fallback) {
    if (text == null) {
      return fallback;
    }
    try {
      return Cidr.parseAddress(text);
    } catch (IllegalArgumentException e) {
      problem(field, e.getMessage());
      return null;
    }
  }

  private int limit(String field, Integer value, int fallback) {
    int limit = Optional.ofNullable(value).orElse(fallback);
    if (limit < 1 || limit > 100_000) {
      problem(field, "must be 1-100000, got " + limit);
    }
    return limit;
  }

  private List<Cidr> cidrs(String field, List<String> values) {
    if (values == null) {
      return List.of();
    }
    if (values.size() > MAX_ENTRIES) {
      problem(field, "at most " + MAX_ENTRIES + " entries, got " + values.size());
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

  private void problem(String field, String message) {
    problems.add(field + ": " + message);
  }

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
