package dev.portforward.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;

class CachingSlf4jProviderTest {

  private final CachingSlf4jProvider provider = new CachingSlf4jProvider();

  @Test
  void servesTheClassPathBindingsLoggersOnePerName() {
    provider.initialize();
    ILoggerFactory factory = provider.getLoggerFactory();

    Logger first = factory.getLogger("org.apache.sshd.common.future.DefaultSshFuture");
    Logger again = factory.getLogger("org.apache.sshd.common.future.DefaultSshFuture");
    Logger other = factory.getLogger("org.apache.sshd.common.channel.Window");

    assertThat(again).isSameAs(first);
    assertThat(first.getName()).isEqualTo("org.apache.sshd.common.future.DefaultSshFuture");
    assertThat(other.getName()).isEqualTo("org.apache.sshd.common.channel.Window");
    // The jar's binding (JBoss LogManager's), not SLF4J's fallback, which would drop every line.
    assertThat(first.getClass().getName()).isEqualTo("org.slf4j.impl.Slf4jLogger");
  }
}
