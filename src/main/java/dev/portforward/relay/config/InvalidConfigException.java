package dev.portforward.relay.config;

import java.util.List;

/** A config file the relay refuses; each problem names its field, such as forwards[2].listen.port. */
public class InvalidConfigException extends Exception {

  private final List<String> problems;

  public InvalidConfigException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
