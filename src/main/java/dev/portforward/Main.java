package dev.portforward;

import dev.portforward.agent.AgentRole;
import dev.portforward.operator.OperatorRole;
import dev.portforward.relay.RelayRole;
import dev.portforward.tunnel.CachingSlf4jProvider;
import dev.portforward.tunnel.TunnelRole;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.Arrays;

/**
 * The one entry point of the jar: {@code operator}, {@code agent}, {@code relay} or {@code tunnel}, chosen by the
 * first argument. Every role gets the same Quarkus runtime (health, metrics, config); only the
 * operator role starts the operator framework.
 */
@QuarkusMain
public final class Main implements QuarkusApplication {

  private static final String SLF4J_PROVIDER = "slf4j.provider";
  static final String USAGE = "usage: portforward-operator operator [--uninstall] | agent [--cleanup] | relay --config FILE | tunnel --config FILE";

  @Inject Instance<OperatorRole> operator;
  @Inject Instance<AgentRole> agent;
  @Inject Instance<RelayRole> relay;
  @Inject Instance<TunnelRole> tunnel;

  @Override
  public int run(String... args) throws Exception {
    if (args.length == 0) {
      System.err.println(USAGE);
      return 2;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    return switch (args[0]) {
      case "operator" -> operator.get().run(rest);
      case "agent" -> agent.get().run(rest);
      case "relay" -> relay.get().run(rest);
      case "tunnel" -> tunnel.get().run(rest);
      default -> {
        System.err.println("unknown role '" + args[0] + "'; " + USAGE);
        yield 2;
      }
    };
  }

  public static void main(String... args) {
    // Before anything asks SLF4J for a logger: it binds once, at the first request.
    if (args.length > 0 && args[0].equals("tunnel") && System.getProperty(SLF4J_PROVIDER) == null) {
      System.setProperty(SLF4J_PROVIDER, CachingSlf4jProvider.class.getName());
    }
    Quarkus.run(Main.class, args);
  }
}
