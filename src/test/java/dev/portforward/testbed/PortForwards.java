package dev.portforward.testbed;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.awaitility.Awaitility;

/** Builders and waits for PortForwards in tests. */
public final class PortForwards {

  /** Conflicts are cluster-wide, so every test takes listen ports no other test uses. */
  private static final AtomicInteger NEXT_PORT = new AtomicInteger(20000 + (int) (ProcessHandle.current().pid() % 500) * 20);

  public static final Duration WAIT = Duration.ofSeconds(60);

  private PortForwards() {}

  public static int uniquePort() {
    return NEXT_PORT.getAndIncrement();
  }

  /** A PortForward whose spec is written as in a manifest, such as {@code "listen: {port: 8080}, ..."}. */
  public static PortForward of(String namespace, String name, String spec) {
    return Serialization.unmarshal("""
        apiVersion: portforward.dev/v1alpha1
        kind: PortForward
        metadata: {name: %s, namespace: %s}
        spec: {%s}
        """.formatted(name, namespace, spec), PortForward.class);
  }

  /** A TCP forward from {@code port} to a Service, further shaped by {@code customize}. */
  public static PortForward toService(String namespace, String name, int port, String service, int servicePort,
      Consumer<PortForwardSpec> customize) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(port);
    spec.setListen(listen);
    Target target = new Target();
    ServiceTarget svc = new ServiceTarget();
    svc.setName(service);
    svc.setPort(servicePort);
    target.setService(svc);
    spec.setTarget(target);
    customize.accept(spec);
    pf.setSpec(spec);
    return pf;
  }

  public static Optional<Condition> condition(PortForward pf, String type) {
    if (pf == null || pf.getStatus() == null) {
      return Optional.empty();
    }
    return pf.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  /** Waits until the condition has the status and reason, and returns the PortForward then. */
  public static PortForward awaitCondition(
      KubernetesClient client, String namespace, String name, String type, String status, String reason) {
    return Awaitility.await(namespace + "/" + name + " " + type + "=" + status + " (" + reason + ")")
        .atMost(WAIT)
        .until(
            () -> client.resources(PortForward.class).inNamespace(namespace).withName(name).get(),
            pf -> condition(pf, type)
                .filter(c -> status.equals(c.getStatus()) && reason.equals(c.getReason()))
                .isPresent()
                && pf.getStatus().getObservedGeneration().equals(pf.getMetadata().getGeneration()));
  }

  public static PortForward awaitAccepted(KubernetesClient client, String namespace, String name) {
    return awaitCondition(client, namespace, name, Conditions.ACCEPTED, "True", Conditions.Reason.ACCEPTED);
  }
}
