package dev.portforward.api.v1alpha1;

/** Bounds on list and string sizes, shared by the CRD schema and the code that reads it. */
public final class Limits {
  public static final int MAX_SOURCE_RANGES = 256;
  public static final int MAX_ROUTES = 32;
  public static final int MAX_LISTEN_ADDRESSES = 16;
  public static final int MAX_SELECTOR_LABELS = 16;
  public static final int MAX_DESTINATIONS = 64;
  /** Services of one target.services, as Gateway API allows 16 backendRefs per rule. */
  public static final int MAX_WEIGHTED_SERVICES = 16;
  /** Keeps a node's report well below etcd's object size limit. */
  public static final int MAX_FORWARDS_PER_NODE = 5000;
  /** PortForward status lists at most this many nodes. */
  public static final int MAX_STATUS_NODES = 100;
  /** The longest IPv6 address text (IPv4-mapped, 45 characters). */
  public static final int MAX_IP = 45;
  /** An IP address and a "/prefix". */
  public static final int MAX_CIDR = MAX_IP + 4;
  /** A DNS name (RFC 1123) is at most 253 characters. */
  public static final int MAX_HOST = 253;
  /** Port ranges in one PortForwardPolicy field. */
  public static final int MAX_PORT_RANGES = 64;
  /** CIDRs a PortForwardPolicy grants as external targets. */
  public static final int MAX_GRANTED_CIDRS = 256;
  /** Host names a PortForwardPolicy grants as external targets. */
  public static final int MAX_GRANTED_HOSTS = 64;
  /** Values of one label selector requirement. */
  public static final int MAX_SELECTOR_VALUES = 64;
  /** A label key: an optional DNS prefix (253), a slash, and a name (63). */
  public static final int MAX_LABEL_KEY = 317;
  public static final int MAX_LABEL_VALUE = 63;
  /** The highest maxForwards a PortForwardPolicy may set. */
  public static final int MAX_FORWARDS_PER_NAMESPACE = 100_000;

  /** Accounts of one SSHTunnel. */
  public static final int MAX_TUNNEL_USERS = 64;
  /** Remote forwards of one SSHTunnel user. */
  public static final int MAX_TUNNEL_REMOTE_FORWARDS = 16;

  private Limits() {}
}
