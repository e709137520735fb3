package dev.portforward.agent.nft;

import dev.portforward.api.v1alpha1.Protocol;
import java.net.InetAddress;

/**
 * One conntrack entry as data: its original tuple (client to node address and port) and where
 * the node's DNAT sent it (the reply direction's source).
 */
public record Flow(
    Protocol protocol,
    InetAddress source,
    int sourcePort,
    InetAddress destination,
    int destinationPort,
    InetAddress backend,
    int backendPort) {}
