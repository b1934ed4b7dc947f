package dev.vipgress.speaker.l2;

import static dev.vipgress.speaker.l2.L2Constants.ARP_HTYPE_ETHERNET;
import static dev.vipgress.speaker.l2.L2Constants.ARP_LENGTH;
import static dev.vipgress.speaker.l2.L2Constants.ARP_OP_REPLY;
import static dev.vipgress.speaker.l2.L2Constants.ARP_OP_REQUEST;
import static dev.vipgress.speaker.l2.L2Constants.ETHERTYPE_ARP;
import static dev.vipgress.speaker.l2.L2Constants.ETHERTYPE_IPV4;
import static dev.vipgress.speaker.l2.L2Constants.ETHERTYPE_IPV6;
import static dev.vipgress.speaker.l2.L2Constants.ETH_HEADER;
import static dev.vipgress.speaker.l2.L2Constants.ICMPV6_NEIGHBOR_ADVERTISEMENT;
import static dev.vipgress.speaker.l2.L2Constants.ICMPV6_NEIGHBOR_SOLICITATION;
import static dev.vipgress.speaker.l2.L2Constants.IPPROTO_ICMPV6;
import static dev.vipgress.speaker.l2.L2Constants.IPV6_HEADER;
import static dev.vipgress.speaker.l2.L2Constants.NA_FLAG_OVERRIDE;
import static dev.vipgress.speaker.l2.L2Constants.NA_FLAG_ROUTER;
import static dev.vipgress.speaker.l2.L2Constants.NA_FLAG_SOLICITED;
import static dev.vipgress.speaker.l2.L2Constants.NDP_BODY;
import static dev.vipgress.speaker.l2.L2Constants.NDP_OPT_SOURCE_LL;
import static dev.vipgress.speaker.l2.L2Constants.NDP_OPT_TARGET_LL;

import dev.vipgress.nat.Addresses;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Optional;

/**
 * Decodes Ethernet frames into {@link L2Message}s. Pure; no I/O.
 *
 * <p>Frames that are not Ethernet/IPv4 ARP or an NDP NS/NA without extension headers decode to
 * empty (they are not ours to judge). Frames that are, but fail the validity checks of RFC 4861
 * sections 7.1.1/7.1.2 (hop limit, code, length, checksum, option lengths), throw {@link
 * MalformedFrameException}.
 */
public final class FrameDecoder {
  private FrameDecoder() {}

  public static Optional<L2Message> decode(byte[] frame) throws MalformedFrameException {
    return decode(frame, frame.length);
  }

  /** Decodes the first {@code length} bytes of {@code frame}. */
  public static Optional<L2Message> decode(byte[] frame, int length)
      throws MalformedFrameException {
    if (length < ETH_HEADER) {
      return Optional.empty();
    }
    Mac dst = Mac.read(frame, 0);
    Mac src = Mac.read(frame, 6);
    int etherType = u16(frame, 12);
    return switch (etherType) {
      case ETHERTYPE_ARP -> decodeArp(frame, length, src, dst);
      case ETHERTYPE_IPV6 -> decodeNdp(frame, length, src, dst);
      default -> Optional.empty();
    };
  }

  private static Optional<L2Message> decodeArp(byte[] f, int length, Mac src, Mac dst)
      throws MalformedFrameException {
    int o = ETH_HEADER;
    if (length < o + 8) {
      throw new MalformedFrameException("ARP header truncated: " + length + " bytes");
    }
    if (u16(f, o) != ARP_HTYPE_ETHERNET
        || u16(f, o + 2) != ETHERTYPE_IPV4
        || f[o + 4] != 6
        || f[o + 5] != 4) {
      return Optional.empty();
    }
    if (length < o + ARP_LENGTH) {
      throw new MalformedFrameException("Ethernet/IPv4 ARP truncated: " + length + " bytes");
    }
    int op = u16(f, o + 6);
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) {
      return Optional.empty();
    }
    return Optional.of(
        new ArpPacket(
            src, dst, op, Mac.read(f, o + 8), v4(f, o + 14), Mac.read(f, o + 18), v4(f, o + 24)));
  }

  private static Optional<L2Message> decodeNdp(byte[] f, int length, Mac ethSrc, Mac ethDst)
      throws MalformedFrameException {
    int ip = ETH_HEADER;
    if (length < ip + IPV6_HEADER) {
      throw new MalformedFrameException("IPv6 header truncated: " + length + " bytes");
    }
    if ((f[ip] & 0xF0) != 0x60) {
      throw new MalformedFrameException("IPv6 EtherType with IP version " + ((f[ip] & 0xF0) >> 4));
    }
    if ((f[ip + 6] & 0xFF) != IPPROTO_ICMPV6) {
      return Optional.empty(); // not ICMPv6, or behind extension headers (NDP never needs them)
    }
    int payloadLength = u16(f, ip + 4);
    int icmp = ip + IPV6_HEADER;
    if (icmp + payloadLength > length) {
      throw new MalformedFrameException(
          "IPv6 payload length " + payloadLength + " beyond the frame (" + length + " bytes)");
    }
    if (payloadLength < 1) {
      throw new MalformedFrameException("empty ICMPv6 message");
    }
    int type = f[icmp] & 0xFF;
    if (type != ICMPV6_NEIGHBOR_SOLICITATION && type != ICMPV6_NEIGHBOR_ADVERTISEMENT) {
      return Optional.empty();
    }
    int hopLimit = f[ip + 7] & 0xFF;
    if (payloadLength < NDP_BODY) {
      throw new MalformedFrameException("NDP message of " + payloadLength + " bytes (< 24)");
    }
    if (f[icmp + 1] != 0) {
      throw new MalformedFrameException("NDP ICMPv6 code " + (f[icmp + 1] & 0xFF));
    }
    byte[] srcBytes = Arrays.copyOfRange(f, ip + 8, ip + 24);
    byte[] dstBytes = Arrays.copyOfRange(f, ip + 24, ip + 40);
    if (Icmpv6Checksum.compute(srcBytes, dstBytes, f, icmp, payloadLength) != 0) {
      throw new MalformedFrameException(
          "bad ICMPv6 checksum 0x" + Integer.toHexString(u16(f, icmp + 2)));
    }
    Inet6Address source = v6(srcBytes);
    Inet6Address destination = v6(dstBytes);
    Inet6Address target = v6(Arrays.copyOfRange(f, icmp + 8, icmp + 24));
    if (target.isMulticastAddress()) {
      throw new MalformedFrameException("NDP target is multicast: " + Addresses.format(target));
    }
    int wanted = type == ICMPV6_NEIGHBOR_SOLICITATION ? NDP_OPT_SOURCE_LL : NDP_OPT_TARGET_LL;
    Optional<Mac> linkLayer = linkLayerOption(f, icmp + NDP_BODY, icmp + payloadLength, wanted);
    if (type == ICMPV6_NEIGHBOR_SOLICITATION) {
      if (source.isAnyLocalAddress() && linkLayer.isPresent()) {
        throw new MalformedFrameException("NS from :: with a source link-layer option");
      }
      return Optional.of(
          new NeighborSolicitation(
              ethSrc, ethDst, source, destination, hopLimit, target, linkLayer));
    }
    int flags = f[icmp + 4] & 0xFF;
    boolean solicited = (flags & NA_FLAG_SOLICITED) != 0;
    if (solicited && destination.isMulticastAddress()) {
      throw new MalformedFrameException("NA to a multicast group with the Solicited flag");
    }
    return Optional.of(
        new NeighborAdvertisement(
            ethSrc,
            ethDst,
            source,
            destination,
            hopLimit,
            target,
            (flags & NA_FLAG_ROUTER) != 0,
            solicited,
            (flags & NA_FLAG_OVERRIDE) != 0,
            linkLayer));
  }

  /**
   * Walks the options (RFC 4861 section 4.6) and returns the first Ethernet one of {@code type}.
   */
  private static Optional<Mac> linkLayerOption(byte[] f, int from, int end, int type)
      throws MalformedFrameException {
    Optional<Mac> found = Optional.empty();
    int o = from;
    while (o < end) {
      if (o + 2 > end) {
        throw new MalformedFrameException("NDP option header truncated");
      }
      int optLength = (f[o + 1] & 0xFF) * 8;
      if (optLength == 0) {
        throw new MalformedFrameException("NDP option with length 0");
      }
      if (o + optLength > end) {
        throw new MalformedFrameException("NDP option beyond the message");
      }
      if ((f[o] & 0xFF) == type && optLength == 8 && found.isEmpty()) {
        found = Optional.of(Mac.read(f, o + 2));
      }
      o += optLength;
    }
    return found;
  }

  private static int u16(byte[] b, int offset) {
    return ((b[offset] & 0xFF) << 8) | (b[offset + 1] & 0xFF);
  }

  private static Inet4Address v4(byte[] b, int offset) {
    try {
      return (Inet4Address) InetAddress.getByAddress(Arrays.copyOfRange(b, offset, offset + 4));
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private static Inet6Address v6(byte[] sixteen) {
    try {
      return Inet6Address.getByAddress(null, sixteen, -1);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
