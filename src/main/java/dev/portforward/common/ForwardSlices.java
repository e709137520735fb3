package dev.portforward.common;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.netty.util.NetUtil;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The EndpointSlices the operator publishes for a PortForward: the backends of its pods targets
 * and, with relay.mode Sidecar, the pods that carry its sidecar. The operator resolves them once
 * from its Pod cache; the node agents read them and never watch Pods, so an agent's cost does not
 * grow with the number of pods in the cluster. Shared, not operator code: both roles must agree on
 * these labels.
 *
 * <p>The slices never carry {@code kubernetes.io/service-name}: kube-proxy would take them for the
 * endpoints of a Service of that name.
 */
public final class ForwardSlices {

  /** The EndpointSlice controller leaves slices alone whose manager is someone else. */
  public static final String MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
  /** Spelled as the EndpointSlice controller spells its own (endpointslice-controller.k8s.io). */
  public static final String MANAGED_BY = "portforward-operator.portforward.dev";
  /** The PortForward (in the slice's namespace) whose backends the slice holds: {@link #forwardLabel}. */
  public static final String FORWARD_LABEL = "portforward.dev/forward";
  /** What the slice resolves: {@link #TARGET}, {@link #route}, or {@link #SIDECARS}. */
  public static final String RESOLVES_LABEL = "portforward.dev/resolves";
  /** The forward's default target (spec.target). */
  public static final String TARGET = "target";
  /** The pods that carry the forward's relay sidecar (relay.mode Sidecar): addresses only, no ports. */
  public static final String SIDECARS = "sidecars";
  /** The API's bound on endpoints per slice; more are split over several slices. */
  public static final int MAX_ENDPOINTS = 1000;

  private static final int MAX_LABEL_VALUE = 63;
  private static final int HASH_CHARS = 8;
  private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");

  private ForwardSlices() {}

  /** Route {@code index} of spec.routes (counted from 0). */
  public static String route(int index) {
    return "route-" + index;
  }

  /**
   * The forward label's value for a PortForward name: the name itself when it is a valid label
   * value (at most 63 characters), otherwise a readable head and a hash of the whole name.
   */
  public static String forwardLabel(String portForwardName) {
    if (portForwardName.length() <= MAX_LABEL_VALUE && LABEL_VALUE.matcher(portForwardName).matches()) {
      return portForwardName;
    }
    String hash = HexFormat.of().formatHex(sha256(portForwardName)).substring(0, HASH_CHARS);
    String head = portForwardName.substring(0, MAX_LABEL_VALUE - HASH_CHARS - 1).replaceAll("[-_.]+$", "");
    return head + "-" + hash;
  }

  /** Whether the operator published {@code slice} for the forward labelled {@code forwardLabel}. */
  public static boolean publishedFor(EndpointSlice slice, String forwardLabel) {
    return forwardLabelOf(slice).filter(forwardLabel::equals).isPresent();
  }

  /** The forward label of a slice the operator published; empty for any other slice. */
  public static Optional<String> forwardLabelOf(EndpointSlice slice) {
    return Optional.ofNullable(slice.getMetadata().getLabels())
        .filter(labels -> MANAGED_BY.equals(labels.get(MANAGED_BY_LABEL)))
        .map(labels -> labels.get(FORWARD_LABEL));
  }

  /**
   * The endpoints the slices that resolve {@code resolves} hold: each address with the slice's
   * port (0 for sidecar evidence, which has none), its ready condition and its node.
   */
  public static List<TargetEndpoints.Endpoint> endpoints(List<EndpointSlice> slices, String resolves) {
    List<TargetEndpoints.Endpoint> endpoints = new ArrayList<>();
    for (EndpointSlice slice : slices) {
      if (!resolves.equals(Optional.ofNullable(slice.getMetadata().getLabels()).orElse(Map.of()).get(RESOLVES_LABEL))
          || slice.getEndpoints() == null) {
        continue;
      }
      int port = Optional.ofNullable(slice.getPorts()).orElse(List.of()).stream()
          .map(p -> p.getPort()).filter(Objects::nonNull).findFirst().orElse(0);
      slice.getEndpoints().forEach(endpoint -> {
        // An unset ready condition means ready (EndpointSlice API).
        boolean ready = endpoint.getConditions() == null || !Boolean.FALSE.equals(endpoint.getConditions().getReady());
        Optional.ofNullable(endpoint.getAddresses()).orElse(List.of()).stream()
            .map(NetUtil::createInetAddressFromIpAddressString)
            .filter(Objects::nonNull)
            .forEach(address -> endpoints.add(new TargetEndpoints.Endpoint(address, port, ready, endpoint.getNodeName())));
      });
    }
    return endpoints;
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
