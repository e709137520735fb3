package dev.portforward.operator.relays;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;

/**
 * The JVM options of relay containers (relay pods and injected sidecars), which every injected pod
 * pays for in memory. They reach the JVM as JDK_JAVA_OPTIONS, which the {@code java} launcher of
 * the image's entrypoint reads (and tools such as jcmd do not). Measured by bench/relay/footprint.sh.
 */
public final class RelayJvm {

  /**
   * The default, documented in docs/relay.md: the serial collector (one GC thread, no G1 remembered
   * sets: a relay's heap is small and its buffers are off-heap), a heap that starts small and may
   * grow to half the container's memory limit, no full collection at start-up for the classes
   * loaded (the first comes at 64 MiB of metaspace, not 21), and freed native memory (the JIT's
   * arenas after start-up) handed back to the system every 5 s. No JIT limits: the data path
   * stays fully compiled.
   */
  public static final String OPTIONS = "-XX:+UseSerialGC -Xms8m -XX:MetaspaceSize=64m -XX:MaxRAMPercentage=50"
      + " -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000";

  /** The environment variable the launcher reads its extra options from. */
  public static final String ENV = "JDK_JAVA_OPTIONS";

  private RelayJvm() {}

  public static EnvVar env(String options) {
    return new EnvVarBuilder().withName(ENV).withValue(options).build();
  }
}
