package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.RelayMode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.gatewayspec.Infrastructure;
import io.k8s.networking.gateway.v1.gatewayclassspec.ParametersRef;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.BiFunction;

/**
 * What a GatewayClass's parameters ask of its Gateways' derived PortForwards: how a listener is
 * carried ({@code relay.mode}: None, node DNAT; Deployment, a relay Deployment per listener).
 * Read from a ConfigMap the class's {@code parametersRef} names, strictly: a wrong reference, a
 * missing ConfigMap, an unknown key or value refuses the class (InvalidParameters) rather than
 * carrying its Gateways some other way than asked.
 */
public record GatewayParameters(RelayMode relayMode) {

  /** No parametersRef: every listener is node DNAT. */
  public static final GatewayParameters NODE_DNAT = new GatewayParameters(RelayMode.None);

  /**
   * On a ConfigMap: it holds GatewayClass parameters. The controller watches only ConfigMaps with
   * this label (not every ConfigMap of the cluster), so a parametersRef finds no other.
   */
  public static final String LABEL = "gateway.portforward.dev/parameters";

  static final String RELAY_MODE = "relay.mode";
  private static final List<String> KEYS = List.of(RELAY_MODE);
  /** The relay modes a listener can have: a sidecar or a SOCKS5 proxy does not fit a route's backends. */
  private static final List<RelayMode> MODES = List.of(RelayMode.None, RelayMode.Deployment);
  /** How much of a value or key a status message quotes. */
  private static final int QUOTED = 64;

  /** The parameters, or why a class cannot have them (exactly one is present). */
  public record Parsed(Optional<GatewayParameters> parameters, Optional<String> problem) {

    static Parsed of(GatewayParameters parameters) {
      return new Parsed(Optional.of(parameters), Optional.empty());
    }

    static Parsed invalid(String problem) {
      return new Parsed(Optional.empty(), Optional.of(problem));
    }
  }

  /**
   * The parameters a class's {@code parametersRef} names ({@link #NODE_DNAT} without one);
   * {@code configMaps} finds a labelled ConfigMap by namespace and name.
   */
  public static Parsed of(ParametersRef ref, BiFunction<String, String, Optional<ConfigMap>> configMaps) {
    if (ref == null) {
      return Parsed.of(NODE_DNAT);
    }
    String group = Optional.ofNullable(ref.getGroup()).orElse("");
    if (!group.isEmpty() || !"ConfigMap".equals(ref.getKind())) {
      return Parsed.invalid("parametersRef names " + quoted(ref.getKind())
          + (group.isEmpty() ? "" : " of group " + quoted(group))
          + ": it must name a ConfigMap (group \"\", kind ConfigMap)");
    }
    if (ref.getNamespace() == null || ref.getNamespace().isEmpty()) {
      return Parsed.invalid("parametersRef.namespace is required: a ConfigMap is namespaced");
    }
    String which = "ConfigMap " + ref.getNamespace() + "/" + ref.getName();
    Optional<ConfigMap> found = configMaps.apply(ref.getNamespace(), ref.getName());
    if (found.isEmpty()) {
      return Parsed.invalid(which + " not found (a parameters ConfigMap needs the label " + LABEL + ")");
    }
    ConfigMap configMap = found.get();
    if (configMap.getBinaryData() != null && !configMap.getBinaryData().isEmpty()) {
      return Parsed.invalid(which + " has binaryData, which is not read: parameters go in data (keys " + KEYS + ")");
    }
    Map<String, String> data = Optional.ofNullable(configMap.getData()).orElse(Map.of());
    TreeSet<String> unknown = new TreeSet<>(data.keySet());
    KEYS.forEach(unknown::remove);
    if (!unknown.isEmpty()) {
      return Parsed.invalid(which + " has unknown key(s) " + unknown.stream().limit(8).map(GatewayParameters::quoted)
          .toList() + ": the keys are " + KEYS);
    }
    String mode = data.getOrDefault(RELAY_MODE, RelayMode.None.name());
    Optional<RelayMode> relayMode = MODES.stream().filter(m -> m.name().equals(mode)).findFirst();
    if (relayMode.isEmpty()) {
      return Parsed.invalid(which + ": " + RELAY_MODE + " " + quoted(mode)
          + " is not supported: None (node DNAT) or Deployment (a relay Deployment per listener)");
    }
    return Parsed.of(new GatewayParameters(relayMode.get()));
  }

  /**
   * Why a Gateway's own {@code spec.infrastructure.parametersRef} refuses it, if it has one: this
   * controller reads parameters per class only, and the spec asks that a Gateway whose parameters
   * cannot be honoured be refused (InvalidParameters) rather than served without them.
   */
  public static Optional<String> gatewayRefusal(Gateway gateway) {
    return Optional.ofNullable(gateway.getSpec().getInfrastructure()).map(Infrastructure::getParametersRef)
        .map(ref -> "spec.infrastructure.parametersRef (" + quoted(ref.getKind()) + " " + quoted(ref.getName())
            + ") is not supported: a Gateway's listeners are carried as its GatewayClass's parameters say");
  }

  /** A value from the ConfigMap as a status message shows it: quoted, cut when long, no control characters. */
  private static String quoted(String value) {
    String text = String.valueOf(value).replaceAll("\\p{Cntrl}", "?");
    return "\"" + (text.length() <= QUOTED ? text : text.substring(0, QUOTED) + "...") + "\"";
  }
}
