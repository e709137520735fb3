package dev.portforward.operator.gatewayapi;

/**
 * Names the Gateway API defines (condition types and reasons, kinds, the group) and the ones this
 * controller adds: its controllerName and the labels of a derived PortForward.
 */
public final class GatewayApi {

  /** GatewayClasses with this controllerName are this operator's. */
  public static final String CONTROLLER_NAME = "portforward.dev/gateway-controller";
  public static final String GROUP = "gateway.networking.k8s.io";
  public static final String GATEWAY = "Gateway";
  public static final String TCP_ROUTE = "TCPRoute";
  public static final String UDP_ROUTE = "UDPRoute";

  /** On a derived PortForward: the Gateway and the listener it carries (the owner reference is the proof). */
  public static final String GATEWAY_LABEL = "gateway.portforward.dev/gateway";
  public static final String LISTENER_LABEL = "gateway.portforward.dev/listener";

  public static final String ACCEPTED = "Accepted";
  public static final String PROGRAMMED = "Programmed";
  public static final String RESOLVED_REFS = "ResolvedRefs";
  public static final String CONFLICTED = "Conflicted";

  /** Upstream reasons (sigs.k8s.io/gateway-api apis/v1), and this controller's own where the spec has none. */
  public static final class Reason {
    public static final String ACCEPTED = "Accepted";
    public static final String INVALID_PARAMETERS = "InvalidParameters";
    public static final String PROGRAMMED = "Programmed";
    public static final String PENDING = "Pending";
    public static final String INVALID = "Invalid";
    public static final String LISTENERS_NOT_VALID = "ListenersNotValid";
    public static final String ADDRESS_NOT_ASSIGNED = "AddressNotAssigned";
    public static final String PORT_UNAVAILABLE = "PortUnavailable";
    public static final String UNSUPPORTED_PROTOCOL = "UnsupportedProtocol";
    public static final String PROTOCOL_CONFLICT = "ProtocolConflict";
    public static final String NO_CONFLICTS = "NoConflicts";
    public static final String RESOLVED_REFS = "ResolvedRefs";
    public static final String INVALID_ROUTE_KINDS = "InvalidRouteKinds";
    public static final String NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners";
    public static final String NO_MATCHING_PARENT = "NoMatchingParent";
    public static final String REF_NOT_PERMITTED = "RefNotPermitted";
    public static final String BACKEND_NOT_FOUND = "BackendNotFound";
    public static final String INVALID_KIND = "InvalidKind";

    private Reason() {}
  }

  private GatewayApi() {}
}
