package dev.portforward.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * An SSH tunnel server for the stock OpenSSH client: who may connect (public keys from Secrets),
 * which ports each may bind with ssh -R (each becomes a Service in this namespace) and which
 * destinations ssh -L and -D may reach.
 */
@Group(PortForward.GROUP)
@Version(PortForward.VERSION)
@Kind("SSHTunnel")
@Plural("sshtunnels")
@ShortNames("sshtun")
@AdditionalPrinterColumn(name = "SSH", jsonPath = ".status.sshService")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Fingerprint", jsonPath = ".status.hostKeyFingerprint", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class SshTunnel extends CustomResource<SshTunnelSpec, SshTunnelStatus> implements Namespaced {}
