package dev.vipgress.nat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Comparator;

/** Parsing, printing and ordering of IP literals without name resolution. */
public final class Addresses {
  private Addresses() {}

  /** Orders IPv4 before IPv6, then numerically. */
  static final Comparator<InetAddress> COMPARATOR =
      (a, b) -> {
        byte[] x = a.getAddress();
        byte[] y = b.getAddress();
        if (x.length != y.length) {
          return Integer.compare(x.length, y.length);
        }
        return java.util.Arrays.compareUnsigned(x, y);
      };

  /**
   * Parses an IP literal; never does a DNS lookup (a string that is not a literal, such as {@code
   * 300.1.1.1}, would otherwise go to the resolver as a host name).
   */
  public static InetAddress parse(String s) {
    String t = s.trim();
    if (!(t.indexOf(':') >= 0 ? t.matches("[0-9a-fA-F:.]{2,45}") : isDottedQuad(t))) {
      throw new IllegalArgumentException("not an IP address: " + s);
    }
    try {
      InetAddress a = InetAddress.getByName(t);
      if (a instanceof Inet6Address v6 && v6.getScopeId() != 0) {
        throw new IllegalArgumentException("scoped IPv6 address not supported: " + s);
      }
      return a;
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: " + s, e);
    }
  }

  private static boolean isDottedQuad(String t) {
    String[] parts = t.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
        return false;
      }
      if (Integer.parseInt(p) > 255) {
        return false;
      }
    }
    return true;
  }

  /** The canonical text form nft and ip print: dotted quad, or RFC 5952 compressed IPv6. */
  public static String format(InetAddress a) {
    if (!(a instanceof Inet6Address)) {
      return a.getHostAddress();
    }
    byte[] b = a.getAddress();
    int[] w = new int[8];
    for (int i = 0; i < 8; i++) {
      w[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 0;
    for (int i = 0; i < 8; ) {
      if (w[i] == 0) {
        int j = i;
        while (j < 8 && w[j] == 0) {
          j++;
        }
        if (j - i > bestLen && j - i >= 2) {
          bestStart = i;
          bestLen = j - i;
        }
        i = j;
      } else {
        i++;
      }
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        sb.append("::");
        i += bestLen - 1;
        continue;
      }
      if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
        sb.append(':');
      }
      sb.append(Integer.toHexString(w[i]));
    }
    return sb.toString();
  }
}
