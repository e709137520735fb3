package dev.portforward.gateway;

import dev.portforward.gateway.UpnpMessages.Service;
import dev.portforward.gateway.UpnpMessages.SoapAnswer;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Maps ports with UPnP IGD: an SSDP search on the interface that leads to the gateway, the
 * gateway's device description, and SOAP calls to its WANIPConnection service. Only the gateway
 * itself is believed: a search answer from any other host, or a description or control URL that
 * points at one, is ignored, so nothing on the LAN can steer the agent's requests elsewhere.
 * A gateway that refuses finite leases (error 725) gets a permanent mapping instead, which
 * {@link Mapping#isPermanent()} flags for the caller to delete without fail.
 */
public final class UpnpIgdClient implements PortMapper {

  private static final int MAX_BODY = 64 * 1024;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
  private static final int SSDP_TTL = 2;
  private static final int NO_SUCH_ENTRY = 714;
  private static final int ONLY_PERMANENT_LEASES = 725;

  private final GatewayUdp route;
  private final Duration discoveryTimeout;
  private final Clock clock;
  private final HttpClient http;
  private Service service;

  public UpnpIgdClient(InetAddress gateway, Duration discoveryTimeout, Clock clock) {
    // Only for finding this host's address toward the gateway; no datagram goes to port 5351 here.
    this.route = new GatewayUdp(gateway, GatewayUdp.PORT, 1);
    this.discoveryTimeout = discoveryTimeout;
    this.clock = clock;
    this.http = HttpClient.newBuilder()
        .proxy(HttpClient.Builder.NO_PROXY)
        .connectTimeout(Duration.ofSeconds(3))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  @Override
  public synchronized Mapping map(MappingRequest request) throws GatewayException {
    InetAddress local = route.localAddress();
    InetAddress external = externalAddress();
    long lease = request.lease().toSeconds();
    Optional<Integer> error = add(request, local, lease);
    if (error.filter(code -> code == ONLY_PERMANENT_LEASES).isPresent()) {
      lease = 0;
      error = add(request, local, lease);
    }
    if (error.isPresent()) {
      throw GatewayException.refused(UpnpMessages.describe(error.get()));
    }
    return new Mapping(Method.UPNP, request.transport(), local, request.internalPort(), external,
        request.externalPort(), lease == 0 ? Optional.empty() : Optional.of(clock.instant().plusSeconds(lease)));
  }

  @Override
  public synchronized Mapping refresh(Mapping current, MappingRequest request) throws GatewayException {
    SoapAnswer entry = call("GetSpecificPortMappingEntry", remote(current.externalPort(), current.transport()));
    if (entry.errorCode().isEmpty()
        && String.valueOf(current.internalPort()).equals(entry.arguments().get("NewInternalPort"))
        && current.internalAddress().getHostAddress().equals(entry.arguments().get("NewInternalClient"))) {
      return current;
    }
    if (entry.errorCode().isPresent() && entry.errorCode().get() != NO_SUCH_ENTRY) {
      throw GatewayException.refused(UpnpMessages.describe(entry.errorCode().get()));
    }
    return map(request);
  }

  @Override
  public synchronized void unmap(Mapping mapping) throws GatewayException {
    SoapAnswer answer = call("DeletePortMapping", remote(mapping.externalPort(), mapping.transport()));
    if (answer.errorCode().isPresent() && answer.errorCode().get() != NO_SUCH_ENTRY) {
      throw GatewayException.refused(UpnpMessages.describe(answer.errorCode().get()));
    }
  }

  private InetAddress externalAddress() throws GatewayException {
    SoapAnswer answer = call("GetExternalIPAddress", Map.of());
    if (answer.errorCode().isPresent()) {
      throw GatewayException.refused(UpnpMessages.describe(answer.errorCode().get()));
    }
    String address = Objects.requireNonNullElse(answer.arguments().get("NewExternalIPAddress"), "");
    if (!address.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
      throw GatewayException.unavailable("the gateway reported no usable external IPv4 address");
    }
    try {
      return InetAddress.getByName(address);
    } catch (IOException e) {
      throw GatewayException.unavailable("the gateway reported no usable external IPv4 address", e);
    }
  }

  /** AddPortMapping; the UPnP error code when the gateway refuses. */
  private Optional<Integer> add(MappingRequest request, InetAddress local, long lease) throws GatewayException {
    Map<String, String> arguments = remote(request.externalPort(), request.transport());
    arguments.put("NewInternalPort", String.valueOf(request.internalPort()));
    arguments.put("NewInternalClient", local.getHostAddress());
    arguments.put("NewEnabled", "1");
    arguments.put("NewPortMappingDescription", request.description());
    arguments.put("NewLeaseDuration", String.valueOf(lease));
    return call("AddPortMapping", arguments).errorCode();
  }

  /** The arguments that name a mapping: any remote host, the external port, the protocol. */
  private static Map<String, String> remote(int externalPort, Transport transport) {
    Map<String, String> arguments = new LinkedHashMap<>();
    arguments.put("NewRemoteHost", "");
    arguments.put("NewExternalPort", String.valueOf(externalPort));
    arguments.put("NewProtocol", transport.name());
    return arguments;
  }

  /** One SOAP call; the service is found again once when a call to a known one fails. */
  private SoapAnswer call(String action, Map<String, String> arguments) throws GatewayException {
    boolean known = service != null;
    try {
      return post(service(), action, arguments);
    } catch (GatewayException e) {
      service = null;
      if (!known) {
        throw e;
      }
      return post(service(), action, arguments);
    }
  }

  private SoapAnswer post(Service target, String action, Map<String, String> arguments) throws GatewayException {
    HttpRequest request = HttpRequest.newBuilder(target.controlUrl())
        .timeout(REQUEST_TIMEOUT)
        .header("Content-Type", "text/xml; charset=\"utf-8\"")
        .header("SOAPAction", "\"" + target.type() + "#" + action + "\"")
        .POST(HttpRequest.BodyPublishers.ofString(UpnpMessages.soapRequest(target.type(), action, arguments)))
        .build();
    byte[] body = fetch(request, "UPnP " + action);
    return UpnpMessages.soapAnswer(body, action).orElseThrow(() ->
        GatewayException.unavailable("the gateway's answer to UPnP " + action + " could not be read"));
  }

  private Service service() throws GatewayException {
    if (service == null) {
      URI location = discover();
      byte[] description = fetch(HttpRequest.newBuilder(location).timeout(REQUEST_TIMEOUT).GET().build(),
          "the UPnP device description");
      Service found = UpnpMessages.service(description, location).orElseThrow(() -> GatewayException.unavailable(
          "the UPnP gateway " + route.address().getHostAddress() + " offers no WANIPConnection service"));
      if (!isGateway(found.controlUrl())) {
        throw GatewayException.unavailable("the UPnP gateway's control URL points to another host; ignored");
      }
      service = found;
    }
    return service;
  }

  /**
   * Searches with SSDP from this host's address toward the gateway (so the search leaves on that
   * interface only) and takes the first answer from the gateway whose LOCATION is the gateway too.
   */
  private URI discover() throws GatewayException {
    InetAddress local = route.localAddress();
    try (DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)) {
      NetworkInterface nif = NetworkInterface.getByInetAddress(local);
      if (nif == null) {
        throw GatewayException.unavailable("no interface holds " + local.getHostAddress());
      }
      channel.setOption(StandardSocketOptions.IP_MULTICAST_IF, nif);
      channel.setOption(StandardSocketOptions.IP_MULTICAST_TTL, SSDP_TTL);
      channel.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, false);
      channel.bind(new InetSocketAddress(local, 0));
      int mx = (int) Math.max(1, discoveryTimeout.toSeconds() - 1);
      channel.send(ByteBuffer.wrap(UpnpMessages.search(mx)),
          new InetSocketAddress(InetAddress.getByName(UpnpMessages.SSDP_GROUP), UpnpMessages.SSDP_PORT));
      long deadline = System.nanoTime() + discoveryTimeout.toNanos();
      byte[] in = new byte[2048];
      long left;
      while ((left = deadline - System.nanoTime()) > 0) {
        channel.socket().setSoTimeout((int) Math.max(1, left / 1_000_000));
        DatagramPacket packet = new DatagramPacket(in, in.length);
        try {
          channel.socket().receive(packet);
        } catch (SocketTimeoutException timeout) {
          break;
        }
        if (packet.getAddress().equals(route.address())) {
          Optional<URI> location = UpnpMessages.location(in, packet.getLength()).filter(this::isGateway);
          if (location.isPresent()) {
            return location.get();
          }
        }
      }
    } catch (IOException e) {
      throw GatewayException.unavailable("the UPnP search failed: " + e.getClass().getSimpleName(), e);
    }
    throw GatewayException.unavailable("no UPnP IGD answered the search from " + route.address().getHostAddress());
  }

  private boolean isGateway(URI uri) {
    return "http".equals(uri.getScheme()) && route.address().getHostAddress().equals(uri.getHost());
  }

  private byte[] fetch(HttpRequest request, String what) throws GatewayException {
    return GatewayHttp.fetch(http, request, what, MAX_BODY);
  }
}
