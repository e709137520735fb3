package dev.portforward.tunnel.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The tunnel config file as written, before validation: everything optional, everything as
 * written. {@link TunnelConfigParser} reads it and the operator writes it, so both sides share
 * one schema.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TunnelConfigFile(
    Listen listen,
    String hostKeyFile,
    String remoteForwardAddress,
    Keepalive keepalive,
    String connectTimeout,
    List<String> deniedDestinations,
    List<String> userCertificateAuthorities,
    List<User> users) {

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Listen(String address, Integer port) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Keepalive(String interval, String timeout) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record User(
      String name,
      List<String> authorizedKeys,
      String authorizedKeysFile,
      List<RemoteForward> remoteForwards,
      List<String> allowedDestinations,
      Boolean allowSmtp,
      Integer maxChannels,
      Integer maxSessions) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RemoteForward(String name, Integer port) {}
}
