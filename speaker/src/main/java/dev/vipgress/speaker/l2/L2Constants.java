package dev.vipgress.speaker.l2;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Protocol numbers and sizes used by the ARP/NDP codec, in one place. */
final class L2Constants {
  private L2Constants() {}

  /** Ethernet header: destination, source, EtherType (IEEE 802.3). */
  static final int ETH_HEADER = 14;

  /** Shortest Ethernet frame without FCS; shorter frames are padded (IEEE 802.3 clause 3.2.8). */
  static final int ETH_MIN_FRAME = 60;

  static final int ETHERTYPE_IPV4 = 0x0800;
  static final int ETHERTYPE_ARP = 0x0806;
  static final int ETHERTYPE_IPV6 = 0x86DD;

  /** ARP for Ethernet/IPv4 (RFC 826): 8 bytes of header plus 2 × (6 + 4) addresses. */
  static final int ARP_LENGTH = 28;

  static final int ARP_HTYPE_ETHERNET = 1;
  static final int ARP_OP_REQUEST = 1;
  static final int ARP_OP_REPLY = 2;

  static final int IPV6_HEADER = 40;
  static final int IPPROTO_ICMPV6 = 58;

  /** RFC 4861 section 7.1: NDP messages are accepted only with hop limit 255. */
  static final int NDP_HOP_LIMIT = 255;

  static final int ICMPV6_NEIGHBOR_SOLICITATION = 135;
  static final int ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;

  /** NS and NA bodies: type, code, checksum, 4 bytes (reserved / flags), 16-byte target. */
  static final int NDP_BODY = 24;

  /** RFC 4861 section 4.6.1 option types. */
  static final int NDP_OPT_SOURCE_LL = 1;

  static final int NDP_OPT_TARGET_LL = 2;

  /** Link-layer address option for Ethernet: type, length (in units of 8 bytes) = 1, MAC. */
  static final int NDP_LL_OPTION = 8;

  /** RFC 4861 section 4.4 flag bits in the first byte after the checksum. */
  static final int NA_FLAG_ROUTER = 0x80;

  static final int NA_FLAG_SOLICITED = 0x40;
  static final int NA_FLAG_OVERRIDE = 0x20;

  /** ff02::1, where unsolicited advertisements go (RFC 4861 section 7.2.6). */
  static final Inet6Address ALL_NODES = v6("ff02::1");

  /** ::, the source of a solicitation sent during duplicate address detection. */
  static final Inet6Address UNSPECIFIED = v6("::");

  private static Inet6Address v6(String literal) {
    try {
      return (Inet6Address) InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  /** The solicited-node multicast group of {@code a} (RFC 4291 section 2.7.1). */
  static Inet6Address solicitedNode(Inet6Address a) {
    byte[] t = a.getAddress();
    byte[] g = new byte[16];
    g[0] = (byte) 0xFF;
    g[1] = 0x02;
    g[11] = 0x01;
    g[12] = (byte) 0xFF;
    g[13] = t[13];
    g[14] = t[14];
    g[15] = t[15];
    try {
      return (Inet6Address) InetAddress.getByAddress(g);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
