package dev.portforward.tunnel.config;

import java.util.List;

/** A tunnel config that does not validate, with one message per problem, each naming its field. */
public final class InvalidTunnelConfigException extends Exception {

  private final transient List<String> problems;

  public InvalidTunnelConfigException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
