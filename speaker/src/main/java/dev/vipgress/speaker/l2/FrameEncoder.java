package dev.vipgress.speaker.l2;

import static dev.vipgress.speaker.l2.L2Constants.ARP_HTYPE_ETHERNET;
import static dev.vipgress.speaker.l2.L2Constants.ARP_LENGTH;
import static dev.vipgress.speaker.l2.L2Constants.ETHERTYPE_ARP;
import static dev.vipgress.speaker.l2.L2Constants.ETHERTYPE_IPV4;
import static dev.vipgress.speaker.l2.L2Constants.ETHERTYPE_IPV6;
import static dev.vipgress.speaker.l2.L2Constants.ETH_HEADER;
import static dev.vipgress.speaker.l2.L2Constants.ETH_MIN_FRAME;
import static dev.vipgress.speaker.l2.L2Constants.ICMPV6_NEIGHBOR_ADVERTISEMENT;
import static dev.vipgress.speaker.l2.L2Constants.ICMPV6_NEIGHBOR_SOLICITATION;
import static dev.vipgress.speaker.l2.L2Constants.IPPROTO_ICMPV6;
import static dev.vipgress.speaker.l2.L2Constants.IPV6_HEADER;
import static dev.vipgress.speaker.l2.L2Constants.NA_FLAG_OVERRIDE;
import static dev.vipgress.speaker.l2.L2Constants.NA_FLAG_ROUTER;
import static dev.vipgress.speaker.l2.L2Constants.NA_FLAG_SOLICITED;
import static dev.vipgress.speaker.l2.L2Constants.NDP_BODY;
import static dev.vipgress.speaker.l2.L2Constants.NDP_LL_OPTION;
import static dev.vipgress.speaker.l2.L2Constants.NDP_OPT_SOURCE_LL;
import static dev.vipgress.speaker.l2.L2Constants.NDP_OPT_TARGET_LL;

import java.net.Inet6Address;
import java.util.Optional;

/** Encodes {@link L2Message}s as complete Ethernet frames (without FCS). Pure; no I/O. */
public final class FrameEncoder {
  private FrameEncoder() {}

  public static byte[] encode(L2Message message) {
    return switch (message) {
      case ArpPacket arp -> encodeArp(arp);
      case NeighborSolicitation ns ->
          encodeNdp(
              ns,
              ICMPV6_NEIGHBOR_SOLICITATION,
              0,
              ns.target(),
              NDP_OPT_SOURCE_LL,
              ns.sourceLinkLayer(),
              ns.source(),
              ns.destination(),
              ns.hopLimit());
      case NeighborAdvertisement na ->
          encodeNdp(
              na,
              ICMPV6_NEIGHBOR_ADVERTISEMENT,
              (na.router() ? NA_FLAG_ROUTER : 0)
                  | (na.solicited() ? NA_FLAG_SOLICITED : 0)
                  | (na.override() ? NA_FLAG_OVERRIDE : 0),
              na.target(),
              NDP_OPT_TARGET_LL,
              na.targetLinkLayer(),
              na.source(),
              na.destination(),
              na.hopLimit());
    };
  }

  /** ARP frames are padded with zeros to the 60-byte Ethernet minimum, as NICs do. */
  private static byte[] encodeArp(ArpPacket p) {
    byte[] f = new byte[ETH_MIN_FRAME];
    ethernet(f, p, ETHERTYPE_ARP);
    int o = ETH_HEADER;
    put16(f, o, ARP_HTYPE_ETHERNET);
    put16(f, o + 2, ETHERTYPE_IPV4);
    f[o + 4] = 6;
    f[o + 5] = 4;
    put16(f, o + 6, p.operation());
    p.senderMac().write(f, o + 8);
    System.arraycopy(p.senderIp().getAddress(), 0, f, o + 14, 4);
    p.targetMac().write(f, o + 18);
    System.arraycopy(p.targetIp().getAddress(), 0, f, o + 24, 4);
    assert o + ARP_LENGTH <= f.length;
    return f;
  }

  private static byte[] encodeNdp(
      L2Message m,
      int type,
      int flags,
      Inet6Address target,
      int optionType,
      Optional<Mac> linkLayer,
      Inet6Address source,
      Inet6Address destination,
      int hopLimit) {
    int icmpLength = NDP_BODY + (linkLayer.isPresent() ? NDP_LL_OPTION : 0);
    byte[] f = new byte[ETH_HEADER + IPV6_HEADER + icmpLength];
    ethernet(f, m, ETHERTYPE_IPV6);
    int ip = ETH_HEADER;
    f[ip] = 0x60; // version 6, traffic class 0, flow label 0
    put16(f, ip + 4, icmpLength);
    f[ip + 6] = (byte) IPPROTO_ICMPV6;
    f[ip + 7] = (byte) hopLimit;
    byte[] src = source.getAddress();
    byte[] dst = destination.getAddress();
    System.arraycopy(src, 0, f, ip + 8, 16);
    System.arraycopy(dst, 0, f, ip + 24, 16);
    int icmp = ip + IPV6_HEADER;
    f[icmp] = (byte) type;
    f[icmp + 1] = 0;
    f[icmp + 4] = (byte) flags;
    System.arraycopy(target.getAddress(), 0, f, icmp + 8, 16);
    if (linkLayer.isPresent()) {
      f[icmp + NDP_BODY] = (byte) optionType;
      f[icmp + NDP_BODY + 1] = 1; // length in units of 8 bytes
      linkLayer.get().write(f, icmp + NDP_BODY + 2);
    }
    put16(f, icmp + 2, Icmpv6Checksum.compute(src, dst, f, icmp, icmpLength));
    return f;
  }

  private static void ethernet(byte[] f, L2Message m, int etherType) {
    m.ethDestination().write(f, 0);
    m.ethSource().write(f, 6);
    put16(f, 12, etherType);
  }

  private static void put16(byte[] b, int offset, int v) {
    b[offset] = (byte) (v >>> 8);
    b[offset + 1] = (byte) v;
  }
}
