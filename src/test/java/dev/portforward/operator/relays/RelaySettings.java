package dev.portforward.operator.relays;

import dev.portforward.operator.OperatorConfig;
import java.util.List;
import java.util.Optional;

/** Relay settings for tests, as the operator reads them from its configuration (defaults elsewhere). */
public final class RelaySettings {

  private RelaySettings() {}

  public static OperatorConfig.Relays of(String image, int replicas, List<String> imagePullSecrets) {
    return new OperatorConfig.Relays() {
      @Override public String image() {
        return image;
      }

      @Override public String imagePullPolicy() {
        return "IfNotPresent";
      }

      @Override public int replicas() {
        return replicas;
      }

      @Override public Optional<List<String>> imagePullSecrets() {
        return imagePullSecrets.isEmpty() ? Optional.empty() : Optional.of(imagePullSecrets);
      }

      @Override public Resources resources() {
        return DEFAULT_RESOURCES;
      }

      @Override public String jvmOptions() {
        return RelayJvm.OPTIONS;
      }
    };
  }

  /** The defaults of OperatorConfig.Relays.Resources. */
  public static final OperatorConfig.Relays.Resources DEFAULT_RESOURCES = new OperatorConfig.Relays.Resources() {
    @Override public String requestsCpu() {
      return "10m";
    }

    @Override public String requestsMemory() {
      return "128Mi";
    }

    @Override public Optional<String> limitsCpu() {
      return Optional.empty();
    }

    @Override public String limitsMemory() {
      return "256Mi";
    }
  };
}
