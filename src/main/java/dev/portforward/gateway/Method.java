package dev.portforward.gateway;

/** A protocol that asks a gateway for a port mapping. */
public enum Method {
  PCP,
  NATPMP,
  UPNP
}
