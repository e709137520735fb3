package dev.portforward.tunnel;

import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.helpers.NOP_FallbackServiceProvider;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The SLF4J binding found on the class path (JBoss LogManager's, in the jar), with its loggers
 * kept by name. SSHD asks SLF4J for a logger in the constructor of every future, channel window
 * and closeable, thousands per second under load, and the JBoss binding builds a new
 * {@code java.util.logging.Logger} for each request: a fifth of the tunnel's CPU time under the
 * bench's load (bench/tunnel, JFR). Loggers of the same name behave alike, so one per name does.
 * The tunnel role selects it with the {@code slf4j.provider} system property (see {@code Main}).
 */
public final class CachingSlf4jProvider implements SLF4JServiceProvider {

  private final SLF4JServiceProvider binding = ServiceLoader.load(SLF4JServiceProvider.class).stream()
      .map(ServiceLoader.Provider::get)
      .filter(provider -> !(provider instanceof CachingSlf4jProvider))
      .findFirst()
      .orElseGet(NOP_FallbackServiceProvider::new);
  private final ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();
  private final ILoggerFactory factory = name -> {
    Logger known = loggers.get(name); // without the lock computeIfAbsent may take
    return known != null ? known : loggers.computeIfAbsent(name, missing -> binding.getLoggerFactory().getLogger(missing));
  };

  @Override
  public ILoggerFactory getLoggerFactory() {
    return factory;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return binding.getMarkerFactory();
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return binding.getMDCAdapter();
  }

  @Override
  public String getRequestedApiVersion() {
    return binding.getRequestedApiVersion();
  }

  @Override
  public void initialize() {
    binding.initialize();
  }
}
