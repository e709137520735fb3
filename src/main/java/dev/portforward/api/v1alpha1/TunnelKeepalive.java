package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;

/**
 * How often the server asks a quiet client for a sign of life, and how long it waits.
 */
public class TunnelKeepalive {

  @Size(max = 32)
  @Pattern("^([0-9]+(ms|s|m|h))+$")
  @JsonPropertyDescription("Ask a client that has been quiet this long (default 10s).")
  private String interval;

  @Size(max = 32)
  @Pattern("^([0-9]+(ms|s|m|h))+$")
  @JsonPropertyDescription("Disconnect a client that answered nothing for this long and release its ports (default 25s).")
  private String timeout;

  public String getInterval() {
    return interval;
  }

  public void setInterval(String interval) {
    this.interval = interval;
  }

  public String getTimeout() {
    return timeout;
  }

  public void setTimeout(String timeout) {
    this.timeout = timeout;
  }
}
