package dev.portforward.operator.target;

import java.net.InetAddress;

/** One address and port that a target resolved to, and whether it takes traffic now. */
public record Backend(InetAddress address, int port, boolean ready) {}
