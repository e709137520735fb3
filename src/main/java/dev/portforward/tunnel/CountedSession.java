package dev.portforward.tunnel;

import java.io.IOException;
import java.util.concurrent.atomic.LongAdder;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.util.Readable;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.ServerFactoryManager;
import org.apache.sshd.server.session.ServerSessionImpl;
import org.apache.sshd.server.session.SessionFactory;

/**
 * A server session that counts the bytes it receives and sends on its connection (SSH framing
 * and encryption included), for the status report. SSHD's own counters restart at every key
 * exchange, so they cannot say how much a session has carried.
 */
final class CountedSession extends ServerSessionImpl {

  private final LongAdder received = new LongAdder();
  private final LongAdder sent = new LongAdder();

  private CountedSession(ServerFactoryManager server, IoSession io) throws Exception {
    super(server, io);
  }

  long receivedBytes() {
    return received.sum();
  }

  long sentBytes() {
    return sent.sum();
  }

  @Override
  public void messageReceived(Readable buffer) throws Exception {
    received.add(buffer.available());
    super.messageReceived(buffer);
  }

  @Override
  protected Buffer encode(Buffer buffer) throws IOException {
    Buffer encoded = super.encode(buffer);
    sent.add(encoded.available());
    return encoded;
  }

  /** Makes counted sessions for the server. */
  static final class Factory extends SessionFactory {

    Factory(ServerFactoryManager server) {
      super(server);
    }

    @Override
    protected ServerSessionImpl doCreateSession(IoSession io) throws Exception {
      return new CountedSession(getServer(), io);
    }
  }
}
