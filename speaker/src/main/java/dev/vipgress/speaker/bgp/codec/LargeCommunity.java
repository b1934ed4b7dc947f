package dev.vipgress.speaker.bgp.codec;

/** A LARGE_COMMUNITY value (RFC 8092 §3): three unsigned 32-bit fields, {@code global:l1:l2}. */
public record LargeCommunity(long globalAdministrator, long localData1, long localData2) {
  private static final long U32 = 0xffff_ffffL;

  public LargeCommunity {
    if (outside(globalAdministrator) || outside(localData1) || outside(localData2)) {
      throw new IllegalArgumentException(
          "large community "
              + globalAdministrator
              + ":"
              + localData1
              + ":"
              + localData2
              + ": each field must be 0..4294967295");
    }
  }

  private static boolean outside(long v) {
    return v < 0 || v > U32;
  }

  /** Parses {@code 4200000000:1:2}. */
  public static LargeCommunity parse(String text) {
    String[] p = text.split(":", -1);
    if (p.length != 3) {
      throw new IllegalArgumentException("large community '" + text + "': expected global:l1:l2");
    }
    try {
      return new LargeCommunity(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "large community '" + text + "': expected global:l1:l2", e);
    }
  }

  @Override
  public String toString() {
    return globalAdministrator + ":" + localData1 + ":" + localData2;
  }
}
