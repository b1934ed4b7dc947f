package dev.vipgress.nat;

import java.net.Inet6Address;
import java.net.InetAddress;

/** IPv4 or IPv6, with the spellings each tool uses for it. */
public enum Family {
  V4("4", "ip", "ipv4_addr", "ipv4", "-4", 32),
  V6("6", "ip6", "ipv6_addr", "ipv6", "-6", 128);

  /** Suffix of this family's set and map names in the table. */
  final String suffix;

  /** The nft payload protocol keyword ({@code ip saddr}, {@code ip6 saddr}). */
  final String nftProto;

  final String nftType;

  /** {@code conntrack -f} / {@code meta nfproto} value. */
  final String name;

  final String ipFlag;
  final int bits;

  Family(String suffix, String nftProto, String nftType, String name, String ipFlag, int bits) {
    this.suffix = suffix;
    this.nftProto = nftProto;
    this.nftType = nftType;
    this.name = name;
    this.ipFlag = ipFlag;
    this.bits = bits;
  }

  public static Family of(InetAddress a) {
    return a instanceof Inet6Address ? V6 : V4;
  }

  /** The prefix that matches every address of the family. */
  Cidr any() {
    return Cidr.parse(this == V4 ? "0.0.0.0/0" : "::/0");
  }
}
