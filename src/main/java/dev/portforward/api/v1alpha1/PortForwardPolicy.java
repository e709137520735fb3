package dev.portforward.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * What the PortForwards of some namespaces may ask for, written by the cluster admin. It replaces
 * the operator's default policy for the namespaces it selects; the operator-wide target denylist
 * still applies to them. Cluster-scoped, so no tenant can write one.
 */
@Group(PortForward.GROUP)
@Version(PortForward.VERSION)
@ShortNames("pfp")
@ValidationRule(value = "has(self.spec)", message = "spec is required: a policy states the namespaces it selects", reason = "FieldValueRequired")
@ValidationRule(
    value = "self.metadata.name != 'default'",
    message = "the name default is reserved: status.policy says default for the operator's default policy",
    reason = "FieldValueInvalid")
@AdditionalPrinterColumn(name = "Precedence", jsonPath = ".spec.precedence", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "MaxForwards", jsonPath = ".spec.maxForwards", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class PortForwardPolicy extends CustomResource<PortForwardPolicySpec, Void> {}
