package dev.portforward.tunnel;

import dev.portforward.tunnel.config.TunnelUser;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.Closeable;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelAsyncOutputStream;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.forward.ChannelToPortHandler;
import org.apache.sshd.common.future.CloseFuture;
import org.apache.sshd.common.future.DefaultCloseFuture;
import org.apache.sshd.common.io.IoConnectFuture;
import org.apache.sshd.common.io.IoConnector;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.Readable;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.threads.ThreadUtils;
import org.apache.sshd.server.channel.AbstractServerChannel;
import org.apache.sshd.server.forward.TcpForwardingFilter;

/**
 * A {@code direct-tcpip} channel ({@code ssh -L}, and each connection of {@code ssh -D}): the
 * destination the client names is resolved once, off the I/O threads; that address is checked
 * against the user's allowed destinations and the denylist; and that address is dialled, so what
 * is dialled is what was checked. The user's channel limit counts over all of its sessions.
 *
 * <p>The dial and the pump follow SSHD's {@code TcpipServerChannel}, except for the close: SSHD
 * closes each channel's connector on a new cached thread pool that is left to idle for a minute,
 * a thread per closed channel that any client could pile up without bound. Here the connector
 * closes with the channel, on the thread that closes it (its close only starts the socket's
 * close: pending writes are flushed first on a graceful close, as SSHD's are).
 */
final class CheckedDirectChannel extends AbstractServerChannel {

  private final TunnelServer server;
  private volatile InetSocketAddress destination;
  private volatile ChannelAsyncOutputStream out;
  private volatile IoConnector connector;
  private volatile ChannelToPortHandler port;

  private CheckedDirectChannel(TunnelServer server) {
    super("", List.of(), null);
    this.server = server;
  }

  /** The checked address this channel dials; null until it is checked. */
  InetSocketAddress destination() {
    return destination;
  }

  @Override
  protected OpenFuture doInit(Buffer request) {
    String host = request.getString();
    int port = request.getInt();
    DefaultOpenFuture opened = new DefaultOpenFuture(this, this);
    Session session = getSession();
    String user = session.getUsername();
    Optional<Client> client = server.client(session);
    Optional<TunnelUser> rules = server.config().user(user);
    if (client.isEmpty() || rules.isEmpty()) {
      return fail(opened, SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, "not logged in");
    }
    if (server.channelsOf(user) >= rules.get().maxChannels()) {
      server.refuse(user, session.getRemoteAddress(), Refusal.LIMIT,
          "already " + rules.get().maxChannels() + " channels open (maxChannels)");
      return fail(opened, SshConstants.SSH_OPEN_RESOURCE_SHORTAGE, "too many channels");
    }
    client.get().channels.add(this);
    addCloseFutureListener(closed -> client.get().channels.remove(this));
    server.resolver().resolve(host, ImmediateEventExecutor.INSTANCE).addListener(resolved -> {
      if (!resolved.isSuccess()) {
        server.refuse(user, session.getRemoteAddress(), Refusal.DESTINATION, "cannot resolve " + host);
        fail(opened, SshConstants.SSH_OPEN_CONNECT_FAILED, "cannot resolve " + host);
        return;
      }
      InetAddress address = (InetAddress) resolved.getNow();
      // The rules as they are now: the config may have changed while the name was resolved.
      Optional<String> refusal = server.config().user(user)
          .map(now -> now.destinations().refusal(address, port))
          .orElse(Optional.of("the user was removed"));
      if (refusal.isPresent()) {
        server.refuse(user, session.getRemoteAddress(), Refusal.DESTINATION,
            "-L/-D to " + host + ":" + port + " (" + NetUtil.toAddressString(address) + "): " + refusal.get());
        fail(opened, SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, "destination not allowed");
        return;
      }
      destination = new InetSocketAddress(address, port);
      dial(destination, user, opened);
    });
    return opened;
  }

  private void dial(InetSocketAddress address, String user, DefaultOpenFuture opened) {
    out = new ChannelAsyncOutputStream(this, SshConstants.SSH_MSG_CHANNEL_DATA) {
      /** EOF goes to the client once the data read from the destination is written, not before. */
      @Override
      protected CloseFuture doCloseGracefully() {
        DefaultCloseFuture result = new DefaultCloseFuture(getChannelId(), futureLock);
        super.doCloseGracefully().addListener(written -> {
          try {
            IoWriteFuture eofSent = sendEof();
            if (eofSent != null) {
              eofSent.addListener(sent -> result.setClosed());
              return;
            }
          } catch (IOException | RuntimeException e) {
            getSession().exceptionCaught(e);
          }
          result.setClosed();
        });
        return result;
      }
    };
    connector = getSession().getFactoryManager().getIoServiceFactory().createConnector(new PortHandler());
    connector.connect(address, null, null).addListener(connected -> connected(connected, user, opened));
  }

  private void connected(IoConnectFuture connected, String user, DefaultOpenFuture opened) {
    if (!connected.isConnected()) {
      // No exception: the connect was cancelled, by the channel's own close.
      Throwable problem = connected.getException() != null ? connected.getException()
          : new ConnectException("connect cancelled");
      signalChannelOpenFailure(problem);
      try {
        opened.setException(problem instanceof ConnectException
            ? new SshChannelOpenException(getChannelId(), SshConstants.SSH_OPEN_CONNECT_FAILED, problem.getMessage(), problem)
            : problem);
      } finally {
        close(true);
      }
      return;
    }
    IoSession socket = connected.getSession();
    port = new ChannelToPortHandler(socket, this);
    signalChannelOpenSuccess();
    server.metrics().channelOpened(user);
    opened.setOpened();
    // Read from the destination only once the client has the open confirmation.
    socket.resumeRead();
  }

  @Override
  public void handleWindowAdjust(Buffer buffer) throws IOException {
    super.handleWindowAdjust(buffer);
    ChannelAsyncOutputStream stream = out;
    if (stream != null) {
      stream.onWindowExpanded();
    }
  }

  @Override
  public void handleEof() throws IOException {
    super.handleEof();
    ChannelToPortHandler handler = port;
    if (handler != null) {
      handler.handleEof();
    }
  }

  @Override
  protected boolean mayWrite() {
    // The output stream flushes while the channel closes.
    return !isClosed();
  }

  @Override
  protected void doWriteData(byte[] data, int off, long len) throws IOException {
    port.sendToPort(SshConstants.SSH_MSG_CHANNEL_DATA, data, off, len);
  }

  @Override
  protected void doWriteExtendedData(byte[] data, int off, long len) {
    throw new UnsupportedOperationException("direct-tcpip channels carry no extended data");
  }

  @Override
  protected Closeable getInnerCloseable() {
    return builder().close(out).close(super.getInnerCloseable()).close(connector).build();
  }

  private OpenFuture fail(DefaultOpenFuture opened, int reason, String message) {
    try {
      opened.setException(new SshChannelOpenException(getChannelId(), reason, message));
    } finally {
      close(true);
    }
    return opened;
  }

  /** Pumps what the destination sends into the channel, one read at a time (the window's backpressure). */
  private final class PortHandler implements IoHandler {

    @Override
    public void sessionCreated(IoSession socket) {
      // Nothing may go to the client before the open confirmation.
      socket.suspendRead();
    }

    @Override
    public void messageReceived(IoSession socket, Readable message) throws IOException {
      if (isClosing()) {
        return;
      }
      Buffer buffer = new ByteArrayBuffer(message.available(), false);
      buffer.putBuffer(message);
      socket.suspendRead();
      // As an SSHD thread: during a key exchange the write is queued instead of blocking this I/O thread.
      ThreadUtils.runAsInternal(buffer, data -> out.writeBuffer(data).addListener(written -> {
        socket.resumeRead();
        if (written.getException() != null) {
          close(true);
        }
      }));
    }

    @Override
    public void sessionClosed(IoSession socket) {
      close(false);
    }

    @Override
    public void exceptionCaught(IoSession socket, Throwable cause) {
      close(!socket.isOpen());
    }
  }

  /** Makes the checked channels for {@code direct-tcpip} requests. */
  static final class Factory implements ChannelFactory {

    private final TunnelServer server;

    Factory(TunnelServer server) {
      this.server = server;
    }

    @Override
    public String getName() {
      return TcpForwardingFilter.Type.Direct.getName();
    }

    @Override
    public Channel createChannel(Session session) {
      return new CheckedDirectChannel(server);
    }
  }
}
