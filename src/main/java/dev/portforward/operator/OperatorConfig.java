package dev.portforward.operator;

import dev.portforward.operator.relays.RelayJvm;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The operator's settings (application.properties, environment, or the Helm chart's values).
 * Checked at start-up by {@link dev.portforward.operator.policy.ForwardPolicy#from}.
 */
@ConfigMapping(prefix = "portforward")
public interface OperatorConfig {

  Policy policy();

  LeaderElection leaderElection();

  Metrics metrics();

  Relays relay();

  Uninstall uninstall();

  Deletion deletion();

  Tunnels tunnels();

  GatewayApi gatewayApi();

  /** Gateway API (L4): Gateways of the class portforward.dev/gateway-controller (docs/gateway-api.md). */
  interface GatewayApi {
    /**
     * Serve Gateways with TCP and UDP listeners as derived PortForwards. Off by default: it lets
     * whoever may write Gateways in a namespace have PortForwards made there, so the cluster
     * admin turns it on (the chart's gatewayApi.enabled). While on, the controllers start once the
     * Gateway API CRDs (v1 GatewayClass, Gateway, TCPRoute, UDPRoute, ReferenceGrant) are served;
     * the operator runs without them.
     */
    @WithDefault("false")
    boolean enabled();

    /** How often the operator looks for the Gateway API CRDs until they are served. */
    @WithDefault("30s")
    Duration discoveryInterval();
  }

  /** SSHTunnels: tunnel servers for the stock OpenSSH client (docs/tunnel.md). */
  interface Tunnels {
    /**
     * Serve SSHTunnels. Off by default: a tunnel opens a way into the cluster from outside it, so
     * the cluster admin turns it on (the chart's tunnels.enabled); while off, every SSHTunnel is
     * refused (Accepted False, TunnelsDisabled) and gets no objects.
     */
    @WithDefault("false")
    boolean enabled();

    /**
     * How often the operator reads each ready tunnel server's report (clients, bound ports,
     * bytes, refusals) into its SSHTunnel's status; a status write follows only a change.
     */
    @WithDefault("15s")
    Duration statusInterval();
  }

  /** What the finalizer of a deleted PortForward waits for. */
  interface Deletion {
    /**
     * How long the finalizer waits for the nodes whose report lists a deleted forward to report
     * it gone; a node whose agent is stopped or cut off holds the deletion this long at most.
     */
    @WithDefault("60s")
    Duration dataPlaneTimeout();
  }

  /** {@code operator --uninstall}, which the chart's pre-delete hook runs. */
  interface Uninstall {
    /**
     * How long to wait for the operator and the agents to finish every deleted PortForward (rules
     * and gateway mappings removed, finalizer released) before the finalizers are removed anyway.
     * Longer than portforward.deletion.data-plane-timeout, so that a stopped agent alone does not
     * reach it.
     */
    @WithDefault("120s")
    Duration timeout();
  }

  /** The relay Deployments the operator runs for relay.mode Deployment. */
  interface Relays {
    /** Image of the relays; the chart passes the operator's own image, which holds every role. */
    String image();

    @WithDefault("IfNotPresent")
    String imagePullPolicy();

    /** Relay pods per PortForward; relay.maxConnections applies to each. */
    @WithDefault("1")
    int replicas();

    /**
     * Pull secrets (Secret names) for the relay image, given to relay pods and to pods that get the
     * relay sidecar. A pod can only use Secrets of its own namespace: each must exist in the
     * namespaces of the PortForwards.
     */
    Optional<List<String>> imagePullSecrets();

    /** Requests and limits of every relay container, in relay pods and as a sidecar. */
    Resources resources();

    /**
     * JVM options of every relay container, in relay pods and as a sidecar (JDK_JAVA_OPTIONS):
     * by default a small heap and the serial collector, see docs/relay.md.
     */
    @WithDefault(RelayJvm.OPTIONS)
    String jvmOptions();

    /**
     * Kubernetes quantities (10m, 128Mi). The requests keep relays out of the BestEffort class
     * (evicted first, refused by namespaces whose ResourceQuota needs requests).
     */
    interface Resources {
      @WithDefault("10m")
      String requestsCpu();

      @WithDefault("128Mi")
      String requestsMemory();

      /** None by default: a CPU limit throttles a relay under load instead of sharing the node. */
      Optional<String> limitsCpu();

      @WithDefault("256Mi")
      String limitsMemory();
    }
  }

  /** Prometheus metrics of the reconciler. */
  interface Metrics {
    /**
     * Also count and time reconciliations per PortForward (labels name and namespace). Off by
     * default: it adds series for every PortForward in the cluster.
     */
    @WithDefault("false")
    boolean perResource();
  }

  /** What PortForwards may ask for; violations surface as Accepted=False with the reason. */
  interface Policy {
    /** Lowest listen port a PortForward may use. */
    @WithDefault("1")
    int listenPortMin();

    /** Highest listen port a PortForward may use. */
    @WithDefault("65535")
    int listenPortMax();

    /** Whether listen ports below 1024 may be used. */
    @WithDefault("false")
    boolean privilegedPorts();

    /** Whether spec.target.external is allowed at all. */
    @WithDefault("false")
    boolean externalTargets();

    /** CIDRs that external targets must fall in; required when external targets are allowed. */
    Optional<List<String>> externalTargetCidrs();

    /**
     * CIDRs no target may resolve to, on top of the built-in ones (loopback, link-local and
     * metadata addresses, unspecified addresses, and the API server's addresses).
     */
    Optional<List<String>> targetDenylist();

    /** Whether relay.mode Socks5 may be used. */
    @WithDefault("false")
    boolean socks5();

    /** Whether spec.gateway (UPnP IGD, NAT-PMP, PCP) may be used. */
    @WithDefault("false")
    boolean gatewayMapping();

    /**
     * Ports no PortForward may listen on, on top of the built-in ones (the node's and the
     * cluster's own services, the NodePort range, this project's ports): entries
     * PORT[-PORT][/TCP|/UDP]=what it belongs to; without a protocol, both are reserved.
     */
    Optional<List<String>> reservedPorts();

    /**
     * Ports released from every reservation, built-in ones included: PORT[-PORT][/TCP|/UDP]. A
     * forward on a released port takes it from whatever node service listens there.
     */
    Optional<List<String>> unreservedPorts();

    /** The cluster's Service NodePort range (kube-apiserver --service-node-port-range), reserved. */
    @WithDefault("30000-32767")
    String nodePortRange();

    /**
     * Whether forwards may listen on control-plane nodes (label node-role.kubernetes.io/control-plane).
     * Must equal the agents' portforward.agent.control-plane-nodes; the chart sets both.
     */
    @WithDefault("false")
    boolean controlPlaneNodes();

    /**
     * Whether a target may lead to a node's own address (InternalIP, ExternalIP), where the node's
     * own services listen. Must equal the agents' portforward.agent.node-address-targets.
     */
    @WithDefault("false")
    boolean nodeAddressTargets();
  }

  /** Only one operator replica reconciles at a time. */
  interface LeaderElection {
    @WithDefault("portforward-operator")
    String leaseName();

    /** Namespace of the Lease; inferred from the pod's service account when running in a cluster. */
    Optional<String> leaseNamespace();

    @WithDefault("15s")
    Duration leaseDuration();

    @WithDefault("10s")
    Duration renewDeadline();

    @WithDefault("2s")
    Duration retryPeriod();
  }

  Sidecar sidecar();

  Webhook webhook();

  /** The relay container injected into pods by relay.mode Sidecar. */
  interface Sidecar {
    /**
     * The sidecar's health and metrics port. It shares the pod's network with the app, so it is a
     * port apps rarely use.
     */
    @WithDefault("15020")
    int managementPort();

    /**
     * Event-loop threads of an injected relay (0: one per core). A sidecar serves one pod, so two
     * are enough, where one per core of a large node costs memory in every pod (about 9 MiB on 32
     * cores) for threads that stay idle.
     */
    @WithDefault("2")
    int eventLoopThreads();
  }

  /** The mutating admission webhook that injects relay sidecars. */
  interface Webhook {
    /** Serve the webhook and manage its certificate and the configuration's caBundle. */
    @WithDefault("false")
    boolean enabled();

    /** HTTPS port of the webhook. */
    @WithDefault("9443")
    int port();

    /** Address the webhook listens on. */
    @WithDefault("0.0.0.0")
    String host();

    /** The MutatingWebhookConfiguration whose caBundle the operator keeps current. */
    @WithDefault("portforward-operator")
    String configurationName();

    /** The Secret, in the operator's namespace, holding the webhook's CA and serving certificate. */
    @WithDefault("portforward-operator-webhook-tls")
    String secretName();

    /** The operator's namespace; by default the one of its service account. */
    Optional<String> namespace();

    /** The Service in front of the webhook: its DNS names go into the serving certificate. */
    @WithDefault("portforward-operator")
    String serviceName();

    /** Lifetime of the generated CA and serving certificate; renewed when a third of it is left. */
    @WithDefault("8760h")
    Duration certificateValidity();
  }
}
