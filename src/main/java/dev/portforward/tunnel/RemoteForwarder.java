package dev.portforward.tunnel;

import java.io.IOException;
import java.net.InetSocketAddress;
import org.apache.sshd.common.Factory;
import org.apache.sshd.common.forward.DefaultForwarder;
import org.apache.sshd.common.forward.TcpipForwardingExceptionMarker;
import org.apache.sshd.common.io.IoAcceptor;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.util.Readable;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.server.session.ServerSession;
import org.jboss.logging.Logger;

/**
 * A session's {@code -R} ports. Each is bound on the server's remote-forward address (the pod's,
 * which a Service reaches) whatever address the client named ({@code localhost} by default), at
 * the port it asked for: OpenSSH matches incoming connections by that port. A port still held by
 * the same user's previous session is taken over; a port that cannot be bound is a refused
 * request, not a broken session.
 */
final class RemoteForwarder extends DefaultForwarder {

  private static final Logger LOG = Logger.getLogger(RemoteForwarder.class);
  private final TunnelServer server;

  RemoteForwarder(ConnectionService service, TunnelServer server) {
    super(service);
    this.server = server;
  }

  private ServerSession serverSession() {
    return (ServerSession) getSession();
  }

  @Override
  public synchronized SshdSocketAddress localPortForwardingRequested(SshdSocketAddress requested) throws IOException {
    try {
      SshdSocketAddress bound = super.localPortForwardingRequested(requested);
      if (bound != null) {
        server.bound(serverSession(), bound.getPort());
      }
      return bound;
    } catch (IOException | RuntimeException e) {
      server.refuse(getSession().getUsername(), getSession().getRemoteAddress(), Refusal.LISTEN,
          "-R port " + requested.getPort() + " cannot be bound: " + e.getMessage());
      return null;
    }
  }

  @Override
  protected InetSocketAddress doBind(SshdSocketAddress requested, IoAcceptor acceptor) throws IOException {
    server.takeOver(requested.getPort(), serverSession());
    InetSocketAddress address = new InetSocketAddress(server.remoteForwardAddress(), requested.getPort());
    return super.doBind(new SshdSocketAddress(address), acceptor);
  }

  @Override
  protected IoAcceptor createIoAcceptor(Factory<? extends IoHandler> handlerFactory) {
    return super.createIoAcceptor(() -> new QuietIoErrors(handlerFactory.create()));
  }

  @Override
  public synchronized void localPortForwardingCancelled(SshdSocketAddress local) throws IOException {
    super.localPortForwardingCancelled(local);
    server.released(serverSession(), local.getPort());
  }

  /**
   * SSHD's handler for the connections accepted on {@code -R} ports, except that a connection
   * ending in an I/O error (a client that resets it, as many do on close) is closed with a debug
   * line instead of a warning with a stack trace, and otherwise handled as SSHD's own handler
   * does. OpenSSH says nothing either; a stack trace written per connection was a measurable share
   * of the cost of each new -R connection (bench/tunnel).
   */
  private static final class QuietIoErrors implements IoHandler {
    private final IoHandler sshd;

    QuietIoErrors(IoHandler sshd) {
      this.sshd = sshd;
    }

    @Override
    public void sessionCreated(IoSession session) throws Exception {
      sshd.sessionCreated(session);
    }

    @Override
    public void sessionClosed(IoSession session) throws Exception {
      sshd.sessionClosed(session);
    }

    @Override
    public void exceptionCaught(IoSession session, Throwable cause) throws Exception {
      if (cause instanceof IOException) {
        LOG.debugf("-R connection %s: %s", session, cause);
        // As SSHD's handler: the marker makes sessionClosed close the channel at once.
        session.setAttribute(TcpipForwardingExceptionMarker.class, cause);
        session.close(true);
      } else {
        sshd.exceptionCaught(session, cause);
      }
    }

    @Override
    public void messageReceived(IoSession session, Readable message) throws Exception {
      sshd.messageReceived(session, message);
    }
  }
}
