package dev.vipgress.election;

import com.google.common.net.InetAddresses;
import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * A VIP as the elector keys it: the canonical text of an IPv4 or IPv6 address, and the name of its
 * Lease.
 *
 * <p>Canonical text is dotted decimal for IPv4 and RFC 5952 for IPv6 (lower case, no leading zeros,
 * the longest run of two or more zero groups compressed to {@code ::}). IPv4-mapped IPv6 addresses
 * ({@code ::ffff:a.b.c.d}) are the IPv4 address. Zone identifiers are rejected.
 *
 * <p>Lease name: {@code vip-} followed by the canonical text with {@code .} and {@code :} replaced
 * by {@code -}; an IPv6 address ending in {@code ::} spells its last group ({@code 2001:db8::} →
 * {@code vip-2001-db8--0}) because names must end with a letter or digit. Examples: {@code
 * 192.168.100.200} → {@code vip-192-168-100-200}, {@code fd76:100::200} → {@code
 * vip-fd76-100--200}. The mapping is one-to-one; {@link #fromLeaseName} inverts it. The Lease also
 * carries the literal in the {@code vipgress.dev/vip} annotation for people reading it.
 */
public record VipAddress(String literal, boolean ipv6) {

  static final String LEASE_PREFIX = "vip-";

  /** Parses an IPv4 or IPv6 literal (never a host name) into its canonical form. */
  public static VipAddress parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty IP address");
    }
    String s = text.trim();
    if (s.indexOf(':') >= 0) {
      int[] g = parseIpv6(s);
      if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff) {
        return new VipAddress(
            (g[6] >> 8) + "." + (g[6] & 0xff) + "." + (g[7] >> 8) + "." + (g[7] & 0xff), false);
      }
      return new VipAddress(formatIpv6(g), true);
    }
    int[] b = parseIpv4(s, text);
    return new VipAddress(b[0] + "." + b[1] + "." + b[2] + "." + b[3], false);
  }

  /** The VIP a Lease name stands for, or {@code null} if the name is not a VIP Lease name. */
  public static VipAddress fromLeaseName(String name) {
    if (name == null || !name.startsWith(LEASE_PREFIX)) {
      return null;
    }
    String rest = name.substring(LEASE_PREFIX.length());
    String[] parts = rest.split("-", -1);
    boolean v4 = parts.length == 4;
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
        v4 = false;
      }
    }
    try {
      VipAddress vip = parse(v4 ? rest.replace('-', '.') : rest.replace('-', ':'));
      return vip.leaseName().equals(name) ? vip : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The name of this VIP's Lease. */
  public String leaseName() {
    if (!ipv6) {
      return LEASE_PREFIX + literal.replace('.', '-');
    }
    String s = literal.endsWith("::") ? literal + "0" : literal;
    return LEASE_PREFIX + s.replace(':', '-');
  }

  /** The address as an unsigned number (32 or 128 bits), for ranges of consecutive VIPs. */
  BigInteger value() {
    BigInteger v = BigInteger.ZERO;
    if (!ipv6) {
      for (int b : parseIpv4(literal, literal)) {
        v = v.shiftLeft(8).or(BigInteger.valueOf(b));
      }
      return v;
    }
    for (int g : parseIpv6(literal)) {
      v = v.shiftLeft(16).or(BigInteger.valueOf(g));
    }
    return v;
  }

  /** The VIP whose {@link #value()} is {@code value}, in the given family. */
  static VipAddress ofValue(BigInteger value, boolean ipv6) {
    int groups = ipv6 ? 8 : 4;
    int bits = ipv6 ? 16 : 8;
    if (value.signum() < 0 || value.bitLength() > groups * bits) {
      throw new IllegalArgumentException("out of range for the family: " + value);
    }
    int[] g = new int[groups];
    for (int i = groups - 1; i >= 0; i--) {
      g[i] = value.and(BigInteger.valueOf((1 << bits) - 1)).intValue();
      value = value.shiftRight(bits);
    }
    if (!ipv6) {
      return new VipAddress(g[0] + "." + g[1] + "." + g[2] + "." + g[3], false);
    }
    return new VipAddress(formatIpv6(g), true);
  }

  @Override
  public String toString() {
    return literal;
  }

  private static int[] parseIpv4(String s, String original) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      throw bad(original);
    }
    int[] b = new int[4];
    for (int i = 0; i < 4; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
        throw bad(original);
      }
      if (p.length() > 1 && p.charAt(0) == '0') {
        throw bad(original); // leading zeros read as octal by some tools
      }
      b[i] = Integer.parseInt(p);
      if (b[i] > 255) {
        throw bad(original);
      }
    }
    return b;
  }

  private static int[] parseIpv6(String s) {
    if (s.indexOf('%') >= 0) {
      throw new IllegalArgumentException("zone identifiers are not allowed in a VIP: " + s);
    }
    String text = s.toLowerCase(Locale.ROOT);
    int[] groups = new int[8];
    int dbl = text.indexOf("::");
    if (dbl >= 0 && text.indexOf("::", dbl + 1) >= 0) {
      throw bad(s);
    }
    String head = dbl >= 0 ? text.substring(0, dbl) : text;
    String tail = dbl >= 0 ? text.substring(dbl + 2) : "";
    int[] h = parseGroups(head, s, dbl < 0 || tail.isEmpty());
    int[] t = dbl >= 0 ? parseGroups(tail, s, true) : new int[0];
    if (dbl < 0) {
      if (h.length != 8) {
        throw bad(s);
      }
      return h;
    }
    if (h.length + t.length > 7) {
      throw bad(s);
    }
    System.arraycopy(h, 0, groups, 0, h.length);
    System.arraycopy(t, 0, groups, 8 - t.length, t.length);
    return groups;
  }

  /** Colon-separated hex groups; the last one may be a dotted IPv4 address (two groups). */
  private static int[] parseGroups(String part, String original, boolean mayEndWithIpv4) {
    if (part.isEmpty()) {
      return new int[0];
    }
    String[] items = part.split(":", -1);
    int[] out = new int[items.length + 1];
    int n = 0;
    for (int i = 0; i < items.length; i++) {
      String it = items[i];
      if (i == items.length - 1 && mayEndWithIpv4 && it.indexOf('.') >= 0) {
        int[] b = parseIpv4(it, original);
        out[n++] = (b[0] << 8) | b[1];
        out[n++] = (b[2] << 8) | b[3];
        continue;
      }
      if (it.isEmpty() || it.length() > 4) {
        throw bad(original);
      }
      int v = 0;
      for (int k = 0; k < it.length(); k++) {
        int d = Character.digit(it.charAt(k), 16);
        if (d < 0) {
          throw bad(original);
        }
        v = (v << 4) | d;
      }
      out[n++] = v;
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /**
   * RFC 5952 text of eight 16-bit groups (Guava's formatter; never the IPv4-mapped dotted form).
   */
  private static String formatIpv6(int[] g) {
    byte[] bytes = new byte[16];
    for (int i = 0; i < 8; i++) {
      bytes[2 * i] = (byte) (g[i] >> 8);
      bytes[2 * i + 1] = (byte) g[i];
    }
    try {
      return InetAddresses.toAddrString(Inet6Address.getByAddress(null, bytes, -1));
    } catch (UnknownHostException e) {
      throw new IllegalStateException("16 bytes are always an IPv6 address", e);
    }
  }

  private static IllegalArgumentException bad(String s) {
    return new IllegalArgumentException("not an IPv4 or IPv6 address: " + s);
  }
}
