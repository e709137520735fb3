package dev.portforward.tunnel;

import dev.portforward.common.Cidr;
import dev.portforward.common.Resolver;
import dev.portforward.tunnel.config.TunnelConfig;
import dev.portforward.tunnel.config.TunnelUser;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.kex.KexState;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.apache.sshd.server.session.ServerSession;
import org.jboss.logging.Logger;

/**
 * An SSH-2 server that only forwards ports, for the stock OpenSSH client: {@code -R} binds the
 * ports a user's config names, {@code -L} and {@code -D} channels reach the destinations the user
 * may reach. Public keys (or user certificates of a trusted CA) are the only way in; sessions (shell, exec, subsystems, agent and X11
 * forwarding all need one) are refused. A client that stops answering keepalives is disconnected
 * and its ports released; the same user reconnecting takes its ports over from a session that
 * has not been noticed dead yet.
 */
public final class TunnelServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(TunnelServer.class);
  /** The keepalive request OpenSSH's own sshd sends; every client answers it, if only with a failure. */
  static final String KEEPALIVE_REQUEST = "keepalive@openssh.com";
  private static final AttributeKey<String> FINGERPRINT = new AttributeKey<>();
  /** The CA fingerprint of a session that logged in with a certificate. */
  private static final AttributeKey<String> AUTHORITY = new AttributeKey<>();
  private static final Duration TAKE_OVER_WAIT = Duration.ofSeconds(10);
  /** Clients listed in a report (the longest connected first); the count covers them all. */
  public static final int MAX_REPORTED_CLIENTS = 100;

  private final SshServer sshd = SshServer.setUpDefaultServer();
  private final Resolver resolver = new Resolver();
  private final TunnelMetrics metrics;
  private final Map<ServerSession, Client> clients = new ConcurrentHashMap<>();
  private final Map<Integer, ServerSession> boundPorts = new ConcurrentHashMap<>();
  private final Map<Refusal, LongAdder> refusals = new EnumMap<>(Refusal.class);
  private final ScheduledExecutorService keepalives = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "tunnel-keepalive");
    thread.setDaemon(true);
    return thread;
  });
  private volatile TunnelConfig config;
  /** Read at start only, like the listen address: bound ports stay where they are. */
  private final InetAddress remoteForwardAddress;

  public TunnelServer(TunnelConfig config, MeterRegistry registry) {
    this.config = config;
    this.remoteForwardAddress = config.remoteForwardAddress();
    this.metrics = new TunnelMetrics(registry);
    for (Refusal reason : Refusal.values()) {
      refusals.put(reason, new LongAdder());
    }
  }

  /** Loads the host key and starts listening; throws when either cannot be done. */
  public void start() throws IOException {
    FileKeyPairProvider hostKeys = new FileKeyPairProvider(config.hostKeyFile());
    try {
      Iterator<KeyPair> loaded = hostKeys.loadKeys(null).iterator();
      if (!loaded.hasNext()) {
        throw new IOException("no key in it");
      }
      LOG.infof("host key %s", KeyUtils.getFingerPrint(loaded.next().getPublic()));
    } catch (IOException | RuntimeException e) {
      throw new IOException("cannot load the host key " + config.hostKeyFile() + ": " + e.getMessage(), e);
    }
    sshd.setKeyPairProvider(hostKeys);
    sshd.setHost(config.listen().getAddress().getHostAddress());
    sshd.setPort(config.listen().getPort());
    sshd.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
    sshd.setPublickeyAuthenticator(this::authenticate);
    sshd.setPasswordAuthenticator(null);
    sshd.setKeyboardInteractiveAuthenticator(null);
    sshd.setGSSAuthenticator(null);
    sshd.setHostBasedAuthenticator(null);
    sshd.setShellFactory(null);
    sshd.setCommandFactory(null);
    sshd.setSubsystemFactories(List.of());
    sshd.setChannelFactories(List.of(new RefusedSessions(this), new CheckedDirectChannel.Factory(this)));
    sshd.setForwardingFilter(new Filter());
    sshd.setForwarderFactory(service -> new RemoteForwarder(service, this));
    sshd.addSessionListener(new Sessions());
    sshd.setSessionFactory(new CountedSession.Factory(sshd));
    CoreModuleProperties.IO_CONNECT_TIMEOUT.set(sshd, config.connectTimeout());
    // SSHD leaves Nagle on; with the peer's delayed ACK every small write then waits up to 40 ms
    // (bench/tunnel: 100 connections/s through -R, against OpenSSH's 1,300). OpenSSH sets
    // TCP_NODELAY on its connection and forwarded sockets, and so does this server: it applies to
    // the SSH connection and to the -L/-R sockets alike.
    CoreModuleProperties.TCP_NODELAY.set(sshd, true);
    sshd.start();
    long tick = Math.max(200, Math.min(1000, config.keepaliveInterval().toMillis() / 2));
    keepalives.scheduleWithFixedDelay(this::keepalive, tick, tick, TimeUnit.MILLISECONDS);
    LOG.infof("tunnel listening on %s:%d with %d users", sshd.getHost(), sshd.getPort(), config.users().size());
  }

  /** False once the server has begun to stop, so that no new clients are sent its way. */
  public boolean isServing() {
    return sshd.isStarted() && !sshd.isClosing();
  }

  TunnelConfig config() {
    return config;
  }

  InetAddress remoteForwardAddress() {
    return remoteForwardAddress;
  }

  Resolver resolver() {
    return resolver;
  }

  TunnelMetrics metrics() {
    return metrics;
  }

  /**
   * Serves {@code next} from now on. The SSH listen address and host key are read at start only.
   * Sessions of a user who is gone, whose key is no longer authorised or who holds a port that is
   * no longer theirs are closed; channels whose destination is now refused are closed; everything
   * else carries on.
   */
  public void apply(TunnelConfig next) {
    TunnelConfig previous = config;
    if (!next.listen().equals(previous.listen()) || !next.hostKeyFile().equals(previous.hostKeyFile())
        || !next.remoteForwardAddress().equals(previous.remoteForwardAddress())) {
      LOG.warn("listen, hostKeyFile and remoteForwardAddress changes apply at the next restart");
    }
    config = next;
    CoreModuleProperties.IO_CONNECT_TIMEOUT.set(sshd, next.connectTimeout());
    for (Client client : clients.values()) {
      Optional<String> why = stillAllowed(client, next);
      if (why.isPresent()) {
        LOG.infof("%s: closing the session: %s", client, why.get());
        client.session.close(true);
        continue;
      }
      TunnelUser user = next.user(client.user).orElseThrow();
      for (CheckedDirectChannel channel : client.channels) {
        Optional<String> refusal = user.destinations().refusal(channel.destination().getAddress(), channel.destination().getPort());
        if (refusal.isPresent()) {
          LOG.infof("%s: closing the channel to %s: %s", client, channel.destination(), refusal.get());
          channel.close(true);
        }
      }
    }
  }

  private Optional<String> stillAllowed(Client client, TunnelConfig next) {
    Optional<TunnelUser> user = next.user(client.user);
    if (user.isEmpty()) {
      return Optional.of("the user was removed");
    }
    if (client.authority == null && user.get().authorized(client.fingerprint).isEmpty()) {
      return Optional.of("its key is no longer authorised");
    }
    if (client.authority != null && next.certificateAuthority(client.authority).isEmpty()) {
      return Optional.of("the CA of its certificate is no longer trusted");
    }
    for (Map.Entry<Integer, ServerSession> bound : boundPorts.entrySet()) {
      if (bound.getValue() == client.session && user.get().remoteForward(bound.getKey()).isEmpty()) {
        return Optional.of("port " + bound.getKey() + " is no longer one of its remote forwards");
      }
    }
    return Optional.empty();
  }

  /** Logs and counts a refusal; {@code user} is a configured user or anyone else ({@code (unknown)}). */
  void refuse(String user, Object client, Refusal reason, String why) {
    String label = user != null && config.user(user).isPresent() ? user : TunnelMetrics.UNKNOWN_USER;
    metrics.refused(label, reason);
    refusals.get(reason).increment();
    LOG.infof("user=%s client=%s refused=%s: %s", user, client, reason.label(), why);
  }

  /**
   * A key listed for the user, or a user certificate (its CA signature, validity and
   * source-address already checked by SSHD) from a trusted CA that names the user among its
   * principals. Certificates with other critical options are refused, as OpenSSH refuses options
   * it does not know.
   */
  private boolean authenticate(String username, PublicKey key, ServerSession session) {
    Optional<TunnelUser> user = config.user(username);
    String fingerprint;
    String authority = null;
    if (key instanceof OpenSshCertificate certificate) {
      fingerprint = KeyUtils.getFingerPrint(certificate.getCertPubKey());
      authority = KeyUtils.getFingerPrint(certificate.getCaPubKey());
      Optional<String> refusal = certificateRefusal(username, certificate, authority);
      if (refusal.isPresent()) {
        refuse(username, session.getClientAddress(), Refusal.AUTH,
            "certificate " + certificate.getId() + " (key " + fingerprint + "): " + refusal.get());
        return false;
      }
    } else {
      fingerprint = KeyUtils.getFingerPrint(key);
      if (user.isEmpty()) {
        refuse(username, session.getClientAddress(), Refusal.AUTH, "no such user (key " + fingerprint + ")");
        return false;
      }
      if (user.get().authorized(fingerprint).isEmpty()) {
        refuse(username, session.getClientAddress(), Refusal.AUTH, "key " + fingerprint + " is not authorised");
        return false;
      }
    }
    if (sessionsOf(username) >= user.orElseThrow().maxSessions()) {
      refuse(username, session.getClientAddress(), Refusal.LIMIT, "already " + user.get().maxSessions() + " sessions (maxSessions)");
      return false;
    }
    session.setAttribute(FINGERPRINT, fingerprint);
    if (authority != null) {
      session.setAttribute(AUTHORITY, authority);
    } else {
      session.removeAttribute(AUTHORITY);
    }
    return true;
  }

  private Optional<String> certificateRefusal(String username, OpenSshCertificate certificate, String authority) {
    if (config.certificateAuthority(authority).isEmpty()) {
      return Optional.of("signed by " + authority + ", not a trusted userCertificateAuthorities key");
    }
    if (config.user(username).isEmpty()) {
      return Optional.of("no such user");
    }
    if (certificate.getPrincipals() == null || !certificate.getPrincipals().contains(username)) {
      return Optional.of("the user is not among its principals " + certificate.getPrincipals());
    }
    List<String> unknown = certificate.getCriticalOptions().stream().map(OpenSshCertificate.CertificateOption::getName)
        .filter(option -> !option.equals("source-address")).toList();
    if (!unknown.isEmpty()) {
      return Optional.of("critical options " + unknown + " are not supported");
    }
    return Optional.empty();
  }

  Optional<Client> client(Session session) {
    return Optional.ofNullable(clients.get(session));
  }

  int sessionsOf(String user) {
    return (int) clients.values().stream().filter(client -> client.user.equals(user)).count();
  }

  int channelsOf(String user) {
    return clients.values().stream().filter(client -> client.user.equals(user)).mapToInt(client -> client.channels.size()).sum();
  }

  int boundPortsOf(String user) {
    return (int) boundPorts.values().stream().map(clients::get).filter(c -> c != null && c.user.equals(user)).count();
  }

  /** The connected clients and their bound ports, the longest connected first. */
  public List<ClientView> clients() {
    return clients.values().stream()
        .sorted(Comparator.comparing((Client client) -> client.since).thenComparing(client -> String.valueOf(client.source)))
        .map(client -> {
          CountedSession counted = (CountedSession) client.session;
          return new ClientView(client.user, client.fingerprint, String.valueOf(client.source), client.since.toString(),
              boundPorts.entrySet().stream().filter(e -> e.getValue() == client.session).map(Map.Entry::getKey).sorted()
                  .toList(),
              counted.receivedBytes(), counted.sentBytes());
        })
        .toList();
  }

  /**
   * What the server tells whoever reports its status: how many clients are connected, the first
   * {@link #MAX_REPORTED_CLIENTS} of them (so that the report stays small however many connect),
   * and how many requests it has refused since it started, by reason.
   */
  public Report report() {
    List<ClientView> all = clients();
    Map<String, Long> refused = new TreeMap<>();
    refusals.forEach((reason, count) -> refused.put(reason.label(), count.sum()));
    return new Report(all.size(), all.subList(0, Math.min(all.size(), MAX_REPORTED_CLIENTS)), refused);
  }

  /**
   * A connected client as reported: who, with which key, from where, since when (ISO-8601),
   * holding which {@code -R} ports, and the bytes its connection has carried each way.
   */
  public record ClientView(String user, String fingerprint, String source, String since, List<Integer> boundPorts,
      long receivedBytes, long sentBytes) {}

  /** The server's report: {@code clients} is the first part of the {@code clientCount} connected. */
  public record Report(int clientCount, List<ClientView> clients, Map<String, Long> refused) {}

  /**
   * Frees {@code port} for {@code newcomer} when another session of the same user holds it: the
   * client has reconnected before its old session was noticed dead, so the old one is closed.
   */
  void takeOver(int port, ServerSession newcomer) throws IOException {
    ServerSession holder = boundPorts.get(port);
    if (holder == null || holder == newcomer) {
      return;
    }
    Client old = clients.get(holder);
    if (old == null || !old.user.equals(newcomer.getUsername())) {
      return;
    }
    LOG.infof("%s: port %d taken over by the same user's new session from %s", old, port, newcomer.getClientAddress());
    holder.close(true).await(TAKE_OVER_WAIT);
  }

  void bound(ServerSession session, int port) {
    boundPorts.put(port, session);
    LOG.infof("%s: remote forward port %d bound on %s", clients.get(session), port, remoteForwardAddress.getHostAddress());
  }

  void released(ServerSession session, int port) {
    if (boundPorts.remove(port, session)) {
      LOG.infof("%s: remote forward port %d released", clients.get(session), port);
    }
  }

  /**
   * Asks every client that has been quiet for a keepalive interval for a sign of life, and
   * disconnects one that has answered nothing for the keepalive timeout: its remote ports are
   * released with its session.
   */
  private void keepalive() {
    long now = System.nanoTime();
    TunnelConfig current = config;
    for (Client client : clients.values()) {
      try {
        if (now - client.lastHeard.get() >= current.keepaliveTimeout().toNanos()) {
          LOG.infof("%s: no answer to keepalives for %s: closing; its remote ports are released", client,
              current.keepaliveTimeout());
          metrics.keepaliveTimeout(client.user);
          client.session.close(true);
        } else if (now - client.lastAsked.get() >= current.keepaliveInterval().toNanos()
            && client.session.getKexState() == KexState.DONE) {
          client.lastAsked.set(now);
          Buffer request = client.session.createBuffer(SshConstants.SSH_MSG_GLOBAL_REQUEST, KEEPALIVE_REQUEST.length() + 8);
          request.putString(KEEPALIVE_REQUEST);
          request.putBoolean(true);
          client.session.request(request, KEEPALIVE_REQUEST, (command, reply) -> client.lastHeard.set(System.nanoTime()));
        }
      } catch (IOException | RuntimeException e) {
        LOG.debugf("%s: keepalive: %s", client, e);
      }
    }
  }

  @Override
  public void close() {
    keepalives.shutdownNow();
    try {
      sshd.stop(true);
    } catch (IOException e) {
      LOG.warnf("stopping the SSH server: %s", e.getMessage());
    }
    resolver.close();
  }

  /** Registers a client once it has logged in; forgets it, its ports and channels when it goes. */
  private final class Sessions implements SessionListener {
    @Override
    public void sessionEvent(Session session, Event event) {
      if (event == Event.Authenticated && session instanceof ServerSession server) {
        Client client = new Client(server, server.getUsername(), server.getAttribute(FINGERPRINT),
            server.getAttribute(AUTHORITY), System.nanoTime());
        clients.put(server, client);
        metrics.gauges(client.user, TunnelServer.this);
        LOG.infof("%s: logged in", client);
      }
    }

    @Override
    public void sessionClosed(Session session) {
      Client client = clients.remove(session);
      boundPorts.values().removeIf(holder -> holder == session);
      if (client != null) {
        LOG.infof("%s: disconnected", client);
      }
    }
  }

  /**
   * What a session may forward: {@code -R} only on the user's own ports; {@code -L}/{@code -D}
   * were checked when the channel opened (the name resolved and its address checked) and are
   * checked again here on the address literal they dial; agent and X11 forwarding never.
   */
  private final class Filter implements ForwardingFilter {
    @Override
    public boolean canListen(SshdSocketAddress address, Session session) {
      String user = session.getUsername();
      Optional<TunnelUser> rules = config.user(user);
      if (rules.isEmpty() || rules.get().remoteForward(address.getPort()).isEmpty()) {
        refuse(user, session.getRemoteAddress(), Refusal.LISTEN,
            "-R port " + address.getPort() + " is not one of the user's remote forwards");
        return false;
      }
      return true;
    }

    @Override
    public boolean canConnect(Type type, SshdSocketAddress address, Session session) {
      Optional<TunnelUser> rules = config.user(session.getUsername());
      if (type != Type.Direct || rules.isEmpty()) {
        return false;
      }
      try {
        InetAddress literal = Cidr.parseAddress(address.getHostName());
        return rules.get().destinations().refusal(literal, address.getPort()).isEmpty();
      } catch (IllegalArgumentException notALiteral) {
        return false;
      }
    }

    @Override
    public boolean canForwardAgent(Session session, String requestType) {
      return false;
    }

    @Override
    public boolean canForwardX11(Session session, String requestType) {
      return false;
    }
  }
}
