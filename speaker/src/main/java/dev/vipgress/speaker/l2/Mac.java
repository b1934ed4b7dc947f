package dev.vipgress.speaker.l2;

import java.net.Inet6Address;
import java.util.HexFormat;
import java.util.Locale;

/** An IEEE 802 MAC address, held in the low 48 bits of a long so that it is a value. */
public record Mac(long bits) {
  public static final Mac ZERO = new Mac(0L);
  public static final Mac BROADCAST = new Mac(0xFFFF_FFFF_FFFFL);

  public Mac {
    if ((bits & ~0xFFFF_FFFF_FFFFL) != 0) {
      throw new IllegalArgumentException("not a 48-bit MAC: " + Long.toHexString(bits));
    }
  }

  /** Reads six bytes at {@code offset}. */
  public static Mac read(byte[] b, int offset) {
    long v = 0;
    for (int i = 0; i < 6; i++) {
      v = (v << 8) | (b[offset + i] & 0xFF);
    }
    return new Mac(v);
  }

  public static Mac of(byte[] sixBytes) {
    if (sixBytes.length != 6) {
      throw new IllegalArgumentException("a MAC has 6 bytes, not " + sixBytes.length);
    }
    return read(sixBytes, 0);
  }

  /** Parses {@code 02:76:67:00:00:0b} (also with '-'), as printed by iproute2 and sysfs. */
  public static Mac parse(String s) {
    String hex = s.trim().replace(":", "").replace("-", "");
    if (hex.length() != 12) {
      throw new IllegalArgumentException("not a MAC address: '" + s + "'");
    }
    return of(HexFormat.of().parseHex(hex));
  }

  /** The Ethernet destination for an IPv6 multicast group (RFC 2464 section 7). */
  public static Mac ipv6Multicast(Inet6Address group) {
    byte[] a = group.getAddress();
    byte[] m = {0x33, 0x33, a[12], a[13], a[14], a[15]};
    return of(m);
  }

  public void write(byte[] b, int offset) {
    for (int i = 5; i >= 0; i--) {
      b[offset + i] = (byte) (bits >>> (8 * (5 - i)));
    }
  }

  public byte[] toBytes() {
    byte[] b = new byte[6];
    write(b, 0);
    return b;
  }

  public boolean isMulticast() {
    return ((bits >>> 40) & 1) != 0;
  }

  @Override
  public String toString() {
    byte[] b = toBytes();
    StringBuilder sb = new StringBuilder(17);
    for (int i = 0; i < 6; i++) {
      if (i > 0) {
        sb.append(':');
      }
      sb.append(String.format(Locale.ROOT, "%02x", b[i] & 0xFF));
    }
    return sb.toString();
  }
}
