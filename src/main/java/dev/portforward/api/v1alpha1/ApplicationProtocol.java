package dev.portforward.api.v1alpha1;

/**
 * The protocol a forward carries above TCP, where the kernel must follow it to forward it whole:
 * FTP announces its data connections' addresses and ports inside the control connection.
 */
public enum ApplicationProtocol {
  None,
  FTP
}
