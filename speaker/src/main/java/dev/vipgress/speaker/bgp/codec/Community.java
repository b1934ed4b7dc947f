package dev.vipgress.speaker.bgp.codec;

/** A COMMUNITIES value (RFC 1997): two 16-bit halves, written {@code asn:value}. */
public record Community(int asn, int value) {
  public Community {
    if (asn < 0 || asn > 0xffff || value < 0 || value > 0xffff) {
      throw new IllegalArgumentException(
          "community " + asn + ":" + value + ": each half must be 0..65535");
    }
  }

  /** Parses {@code 65000:100}. */
  public static Community parse(String text) {
    String[] p = text.split(":", -1);
    if (p.length != 2) {
      throw new IllegalArgumentException("community '" + text + "': expected asn:value");
    }
    try {
      return new Community(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("community '" + text + "': expected asn:value", e);
    }
  }

  @Override
  public String toString() {
    return asn + ":" + value;
  }
}
