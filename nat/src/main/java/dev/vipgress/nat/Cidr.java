package dev.vipgress.nat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An address prefix; the address is normalised to the network address (host bits cleared), so two
 * spellings of the same prefix are equal.
 */
public record Cidr(InetAddress address, int prefix) implements Comparable<Cidr> {

  public Cidr {
    Objects.requireNonNull(address, "address");
    int max = address.getAddress().length * 8;
    if (prefix < 0 || prefix > max) {
      throw new IllegalArgumentException("prefix " + prefix + " out of range for " + address);
    }
    address = network(address, prefix);
  }

  /** Parses {@code 10.244.0.0/16}, {@code fd00::/64} or a bare address (a host prefix). */
  public static Cidr parse(String text) {
    String s = text.trim();
    int slash = s.indexOf('/');
    String addr = slash < 0 ? s : s.substring(0, slash);
    InetAddress a = Addresses.parse(addr);
    int len = a.getAddress().length * 8;
    if (slash >= 0) {
      try {
        len = Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad prefix length in " + text, e);
      }
    }
    return new Cidr(a, len);
  }

  /** The host prefix (/32 or /128) of one address. */
  public static Cidr host(InetAddress a) {
    return new Cidr(a, a.getAddress().length * 8);
  }

  public Family family() {
    return Family.of(address);
  }

  public boolean contains(InetAddress a) {
    if (Family.of(a) != family()) {
      return false;
    }
    return network(a, prefix).equals(address);
  }

  /** Whether {@code other} lies entirely inside this prefix. */
  public boolean contains(Cidr other) {
    return other.family() == family() && other.prefix >= prefix && contains(other.address);
  }

  @Override
  public String toString() {
    return Addresses.format(address) + "/" + prefix;
  }

  @Override
  public int compareTo(Cidr o) {
    int c = Addresses.COMPARATOR.compare(address, o.address);
    return c != 0 ? c : Integer.compare(prefix, o.prefix);
  }

  private static InetAddress network(InetAddress a, int prefix) {
    byte[] b = a.getAddress();
    for (int i = 0; i < b.length; i++) {
      int bits = Math.max(0, Math.min(8, prefix - i * 8));
      b[i] &= (byte) (0xff << (8 - bits));
    }
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
