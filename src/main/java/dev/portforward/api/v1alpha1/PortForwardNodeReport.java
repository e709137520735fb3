package dev.portforward.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * What one node's agent has programmed, named after the node. Each agent writes only its own
 * report, so agents never contend for one status field; the operator aggregates the reports into
 * each PortForward's status (Programmed, Ready, endpoints, nodes).
 */
@Group(PortForward.GROUP)
@Version(PortForward.VERSION)
@ShortNames("pfnr")
@AdditionalPrinterColumn(name = "Programmed", jsonPath = ".status.programmed", type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(name = "Synced", jsonPath = ".status.lastSyncTime", type = AdditionalPrinterColumn.Type.DATE)
public class PortForwardNodeReport extends CustomResource<Void, NodeReportStatus> {}
