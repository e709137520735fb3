package dev.portforward.tunnel;

import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.session.Session;

/**
 * Turns away every session channel, so that nothing ever runs on the server: a shell, a command
 * ({@code ssh host true}), a subsystem (sftp), agent and X11 forwarding are all requests on a
 * session channel. The client is told "unknown channel type"; the refusal is logged and counted.
 */
final class RefusedSessions implements ChannelFactory {

  private final TunnelServer server;

  RefusedSessions(TunnelServer server) {
    this.server = server;
  }

  @Override
  public String getName() {
    return "session";
  }

  @Override
  public Channel createChannel(Session session) {
    server.refuse(session.getUsername(), session.getRemoteAddress(), Refusal.SESSION,
        "a session channel (shell, exec, subsystem, agent or X11): only port forwarding is served; use ssh -N");
    return null;
  }
}
