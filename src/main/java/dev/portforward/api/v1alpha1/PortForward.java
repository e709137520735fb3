package dev.portforward.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A declarative port forward: a listen port on selected nodes that leads to a target. */
@Group(PortForward.GROUP)
@Version(PortForward.VERSION)
@ShortNames("pf")
@AdditionalPrinterColumn(name = "Protocol", jsonPath = ".spec.protocol")
@AdditionalPrinterColumn(name = "Port", jsonPath = ".spec.listen.port", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Target", jsonPath = ".status.target")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Endpoints", jsonPath = ".status.endpointsSummary")
@AdditionalPrinterColumn(name = "Policy", jsonPath = ".status.policy")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class PortForward extends CustomResource<PortForwardSpec, PortForwardStatus> implements Namespaced {
  public static final String GROUP = "portforward.dev";
  public static final String VERSION = "v1alpha1";
}
