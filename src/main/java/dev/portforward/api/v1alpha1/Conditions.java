package dev.portforward.api.v1alpha1;

import java.util.Objects;

/** Condition types and reasons of a PortForward's status: the vocabulary users and tools match on. */
public final class Conditions {

  public static final String ACCEPTED = "Accepted";
  public static final String RESOLVED_REFS = "ResolvedRefs";
  public static final String PROGRAMMED = "Programmed";
  public static final String READY = "Ready";
  public static final String GATEWAY_MAPPED = "GatewayMapped";
  /**
   * kstatus' abnormal-true condition (sigs.k8s.io/cli-utils), present only while Accepted is
   * False: a refused spec stays refused until it or a policy changes, so Flux and other kstatus
   * readers report it Failed instead of waiting for it.
   */
  public static final String STALLED = "Stalled";

  /** Reasons: why a condition has its status. */
  public static final class Reason {
    public static final String ACCEPTED = "Accepted";
    public static final String PORT_CONFLICT = "PortConflict";
    public static final String PORT_NOT_ALLOWED = "PortNotAllowed";
    public static final String RESERVED_PORT = "ReservedPort";
    public static final String PRIVILEGED_PORT_NOT_ALLOWED = "PrivilegedPortNotAllowed";
    public static final String EXTERNAL_TARGET_NOT_ALLOWED = "ExternalTargetNotAllowed";
    public static final String TARGET_DENIED = "TargetDenied";
    public static final String MODE_NOT_ALLOWED = "ModeNotAllowed";
    public static final String UNSUPPORTED_VALUE = "UnsupportedValue";
    public static final String FORWARD_LIMIT_REACHED = "ForwardLimitReached";
    /** target.services with relay.mode Sidecar: a sidecar sits next to the pods of one target. */
    public static final String WEIGHTED_SERVICES_WITH_SIDECAR = "WeightedServicesWithSidecar";
    /** An object the forward's relay needs exists under its name, and the operator did not create it. */
    public static final String RELAY_OBJECT_CONFLICT = "RelayObjectConflict";
    /** An object an SSHTunnel needs exists under its name, and the operator did not create it. */
    public static final String TUNNEL_OBJECT_CONFLICT = "TunnelObjectConflict";
    /** The operator's config does not serve SSHTunnels (portforward.tunnels.enabled, the chart's tunnels.enabled). */
    public static final String TUNNELS_DISABLED = "TunnelsDisabled";

    public static final String RESOLVED_REFS = "ResolvedRefs";
    public static final String SERVICE_NOT_FOUND = "ServiceNotFound";
    public static final String SERVICE_PORT_NOT_FOUND = "ServicePortNotFound";
    public static final String UNSUPPORTED_SERVICE = "UnsupportedService";
    public static final String NO_MATCHING_PODS = "NoMatchingPods";
    public static final String HOST_NOT_FOUND = "HostNotFound";

    public static final String NOT_ACCEPTED = "NotAccepted";
    public static final String REFS_NOT_RESOLVED = "RefsNotResolved";
    public static final String AWAITING_DATA_PLANE = "AwaitingDataPlane";
    public static final String NO_SELECTED_NODES = "NoSelectedNodes";
    public static final String NODES_NOT_PROGRAMMED = "NodesNotProgrammed";
    /** No selected node is Ready (their kubelets stopped reporting, for one): their rules are not vouched for. */
    public static final String NODES_NOT_READY = "NodesNotReady";
    public static final String SIDECARS_MISSING = "SidecarsMissing";
    /** Selected pods use hostNetwork: a sidecar there would relay the node's own loopback. */
    public static final String HOST_NETWORK_PODS = "HostNetworkPods";
    public static final String PROGRAMMED = "Programmed";
    public static final String NOT_PROGRAMMED = "NotProgrammed";
    public static final String RELAY_NOT_READY = "RelayNotReady";
    /** An SSHTunnel's server has no ready pod (yet). */
    public static final String TUNNEL_NOT_READY = "TunnelNotReady";
    /** Event: a client logged in to an SSHTunnel's server. */
    public static final String TUNNEL_CLIENT_CONNECTED = "ClientConnected";
    /** Event: a client of an SSHTunnel's server went away. */
    public static final String TUNNEL_CLIENT_DISCONNECTED = "ClientDisconnected";
    /** Event: an SSHTunnel's server refused requests (logins, ports, destinations, sessions). */
    public static final String TUNNEL_REQUESTS_REFUSED = "RequestsRefused";
    /** Event: the operator could not read an SSHTunnel server's report; its status keeps the last one. */
    public static final String TUNNEL_REPORT_UNREADABLE = "ReportUnreadable";
    public static final String NO_READY_BACKENDS = "NoReadyBackends";
    public static final String READY = "Ready";
    public static final String RECONCILE_ERROR = "ReconcileError";

    public static final String MAPPED = "Mapped";
    public static final String PENDING = "Pending";
    public static final String GATEWAY_UNAVAILABLE = "GatewayUnavailable";
    public static final String MAPPING_REFUSED = "MappingRefused";

    private Reason() {}
  }

  private Conditions() {}

  /**
   * Accepted by the operator for the generation the caller sees, and not being deleted: policy and
   * port ownership are settled, so the data plane may act on it.
   */
  public static boolean isAccepted(PortForward pf) {
    return pf.getMetadata().getDeletionTimestamp() == null
        && pf.getStatus() != null
        && Objects.equals(pf.getStatus().getObservedGeneration(), pf.getMetadata().getGeneration())
        && pf.getStatus().getConditions().stream()
            .anyMatch(c -> ACCEPTED.equals(c.getType()) && "True".equals(c.getStatus()));
  }
}
