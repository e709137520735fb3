package dev.portforward.api.v1alpha1;

/** PROXY protocol header a relay sends to the backend, so the backend sees the client's address. */
public enum ProxyProtocol {
  None,
  V1,
  V2
}
