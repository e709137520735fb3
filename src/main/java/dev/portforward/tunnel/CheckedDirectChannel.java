package dev.portforward.tunnel;

import dev.portforward.tunnel.config.TunnelUser;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.forward.TcpipServerChannel;

/**
 * A {@code direct-tcpip} channel ({@code ssh -L}, and each connection of {@code ssh -D}): the
 * destination the client names is resolved once, off the I/O threads; that address is checked
 * against the user's allowed destinations and the denylist; and the channel goes on with the
 * address literal in place of the name, so what is dialled is what was checked. The user's
 * channel limit counts over all of its sessions.
 */
final class CheckedDirectChannel extends TcpipServerChannel {

  private final TunnelServer server;
  private volatile InetSocketAddress destination;

  private CheckedDirectChannel(TunnelServer server) {
    super(TcpForwardingFilter.Type.Direct, null);
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
    String originatorHost = request.getString();
    int originatorPort = request.getInt();
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
      Buffer checked = new ByteArrayBuffer();
      checked.putString(NetUtil.toAddressString(address));
      checked.putUInt(port);
      checked.putString(originatorHost);
      checked.putUInt(originatorPort);
      super.doInit(checked).addListener(result -> {
        if (result.isOpened()) {
          server.metrics().channelOpened(user);
          opened.setOpened();
        } else {
          opened.setException(result.getException());
        }
      });
    });
    return opened;
  }

  private OpenFuture fail(DefaultOpenFuture opened, int reason, String message) {
    try {
      opened.setException(new SshChannelOpenException(getChannelId(), reason, message));
    } finally {
      close(true);
    }
    return opened;
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
