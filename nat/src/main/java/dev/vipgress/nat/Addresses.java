package dev.vipgress.nat;

import com.google.common.net.InetAddresses;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Comparator;

/**
 * Parsing, printing and ordering of IP literals without name resolution, on Guava's {@link
 * InetAddresses}.
 */
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
    if (t.indexOf('%') >= 0) {
      throw new IllegalArgumentException("scoped IPv6 address not supported: " + s);
    }
    try {
      InetAddress a = InetAddresses.forString(t);
      if (a instanceof Inet6Address v6 && v6.getScopeId() != 0) {
        throw new IllegalArgumentException("scoped IPv6 address not supported: " + s);
      }
      return a;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not an IP address: " + s, e);
    }
  }

  /** The canonical text form nft and ip print: dotted quad, or RFC 5952 compressed IPv6. */
  public static String format(InetAddress a) {
    return InetAddresses.toAddrString(a);
  }
}
