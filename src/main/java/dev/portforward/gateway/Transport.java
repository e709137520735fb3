package dev.portforward.gateway;

/** The transport protocol of a mapping, with its IANA protocol number (PCP carries that). */
public enum Transport {
  TCP(6),
  UDP(17);

  private final int number;

  Transport(int number) {
    this.number = number;
  }

  public int number() {
    return number;
  }
}
