package dev.portforward.e2e;

import dev.portforward.testbed.EchoSession;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.util.List;

/**
 * A cluster the shared end-to-end scenarios ({@link ChartScenarios}) run on: real nodes on this
 * machine, or K3s in Docker. It holds the chart installed by helm, an image with nginx and socat
 * the nodes have, and a client outside the nodes that reaches their addresses.
 */
interface ClusterUnderTest {

  KubernetesClient client();

  /** The nodes, by name (which is also their kubernetes.io/hostname label). */
  List<String> nodes();

  /** A node's address, where forwards listen. */
  String nodeAddress(String node);

  /** An image the nodes hold: nginx answering {@code hostname=<pod> client=<address>:<port>}, socat and cat. */
  String testImage();

  /** The client's address, as the nodes see it (for sourceRanges). */
  String clientAddress();

  /** An HTTP GET from the client; "" when it fails. */
  String fetch(String url);

  /** A long-lived TCP connection from the client to an echo server at {@code address:port}. */
  EchoSession connect(String address, int port) throws IOException;

  /** Runs a command in a node's network namespace (and its mounts) and returns its output. */
  String onNode(String node, String... command) throws Exception;

  /** The chart's release name and namespace. */
  String releaseName();

  String releaseNamespace();

  /** helm upgrade of the release with {@code values} (--set), keeping the install's own settings. */
  void helmUpgrade(String... values) throws Exception;

  /** helm uninstall of the release, waiting for its resources to go. */
  void helmUninstall() throws Exception;
}
