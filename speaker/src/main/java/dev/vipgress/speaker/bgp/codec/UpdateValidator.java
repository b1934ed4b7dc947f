package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_AGGREGATOR;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_AS_PATH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_ATOMIC_AGGREGATE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_COMMUNITIES;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_LARGE_COMMUNITIES;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_LOCAL_PREF;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_MED;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_MP_REACH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_MP_UNREACH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_NEXT_HOP;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ATTR_ORIGIN;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_UPDATE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.FLAG_EXTENDED_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.FLAG_OPTIONAL;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.FLAG_TRANSITIVE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.UPDATE_INVALID_NETWORK_FIELD;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.UPDATE_MALFORMED_ATTRIBUTE_LIST;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.UPDATE_UNRECOGNIZED_WELL_KNOWN;

import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;

/**
 * Walks a received UPDATE before the codec sees it and decides by RFC 7606 what an error costs: a
 * session reset only where RFC 7606 requires one (the message cannot be delimited, an NLRI field
 * cannot be parsed, MP_REACH/MP_UNREACH malformed or repeated, an unrecognized well-known
 * attribute); treat-as-withdraw for malformed route-affecting attributes (§7); attribute-discard
 * for ATOMIC_AGGREGATE and AGGREGATOR (§7.6-7.7). AS_PATH and AGGREGATOR are read as 4-octet
 * (vipgress only peers with RFC 6793 speakers).
 */
final class UpdateValidator {
  private UpdateValidator() {}

  /**
   * What the walk found.
   *
   * @param withdrawn every prefix withdrawn (classic field and MP_UNREACH_NLRI)
   * @param announced every prefix announced (classic NLRI and MP_REACH_NLRI)
   * @param largeCommunities LARGE_COMMUNITY values (the codec does not know the type)
   * @param treatAsWithdraw the first RFC 7606 treat-as-withdraw reason
   * @param discarded attributes dropped by attribute-discard
   */
  record Walk(
      List<Prefix> withdrawn,
      List<Prefix> announced,
      List<LargeCommunity> largeCommunities,
      Optional<String> treatAsWithdraw,
      List<String> discarded) {}

  /** Walks the UPDATE in {@code frame} (header included, already checked by the framer). */
  static Walk walk(ByteBuf frame) {
    int start = frame.readerIndex() + HEADER_LENGTH;
    int end = frame.readerIndex() + frame.readableBytes();
    int withdrawnLength = frame.getUnsignedShort(start);
    int attrsLengthAt = start + 2 + withdrawnLength;
    if (attrsLengthAt + 2 > end) {
      throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "withdrawn routes length overruns the message");
    }
    int attrsLength = frame.getUnsignedShort(attrsLengthAt);
    int attrsStart = attrsLengthAt + 2;
    int attrsEnd = attrsStart + attrsLength;
    if (attrsEnd > end) {
      throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "total attribute length overruns the message");
    }
    List<Prefix> withdrawn = prefixes(frame, start + 2, attrsLengthAt, 32, "withdrawn routes");
    List<Prefix> announced = prefixes(frame, attrsEnd, end, 32, "NLRI");
    boolean classicNlri = !announced.isEmpty();

    Attributes attrs = new Attributes();
    int pos = attrsStart;
    while (pos < attrsEnd) {
      if (attrsEnd - pos < 3) {
        attrs.withdraw("attribute header truncated");
        break;
      }
      int flags = frame.getUnsignedByte(pos);
      int type = frame.getUnsignedByte(pos + 1);
      boolean extended = (flags & FLAG_EXTENDED_LENGTH) != 0;
      int headerLength = extended ? 4 : 3;
      if (attrsEnd - pos < headerLength) {
        attrs.withdraw("attribute header truncated");
        break;
      }
      int length = extended ? frame.getUnsignedShort(pos + 2) : frame.getUnsignedByte(pos + 2);
      int valueAt = pos + headerLength;
      if (valueAt + length > attrsEnd) {
        if (type == ATTR_MP_REACH || type == ATTR_MP_UNREACH) {
          throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "MP attribute overruns the attribute list");
        }
        attrs.withdraw("attribute " + type + " overruns the attribute list");
        break;
      }
      if (attrs.seen.get(type)) {
        if (type == ATTR_MP_REACH || type == ATTR_MP_UNREACH) {
          throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "MP attribute " + type + " repeated");
        }
        attrs.discarded.add("repeated attribute " + type); // RFC 7606 §3 (g)
      } else {
        attrs.seen.set(type);
        attribute(frame, flags, type, valueAt, length, pos, attrs, withdrawn, announced);
      }
      pos = valueAt + length;
    }
    boolean anyNlri = classicNlri || attrs.seen.get(ATTR_MP_REACH);
    if (anyNlri && attrs.reason == null) {
      // RFC 7606 §3 (d): a missing well-known mandatory attribute
      if (!attrs.seen.get(ATTR_ORIGIN) || !attrs.seen.get(ATTR_AS_PATH)) {
        attrs.withdraw("ORIGIN or AS_PATH missing");
      } else if (classicNlri && !attrs.seen.get(ATTR_NEXT_HOP)) {
        attrs.withdraw("NEXT_HOP missing");
      }
    }
    return new Walk(
        withdrawn,
        announced,
        attrs.large,
        Optional.ofNullable(attrs.reason),
        List.copyOf(attrs.discarded));
  }

  private static final class Attributes {
    final BitSet seen = new BitSet(256);
    final List<LargeCommunity> large = new ArrayList<>();
    final List<String> discarded = new ArrayList<>();
    String reason;

    void withdraw(String why) {
      if (reason == null) {
        reason = why;
      }
    }
  }

  @SuppressWarnings("checkstyle:ParameterNumber")
  private static void attribute(
      ByteBuf b,
      int flags,
      int type,
      int at,
      int length,
      int attrStart,
      Attributes attrs,
      List<Prefix> withdrawn,
      List<Prefix> announced) {
    int optTrans = flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE);
    switch (type) {
      case ATTR_ORIGIN -> {
        if (optTrans != FLAG_TRANSITIVE || length != 1 || b.getUnsignedByte(at) > 2) {
          attrs.withdraw("malformed ORIGIN"); // RFC 7606 §7.1
        }
      }
      case ATTR_AS_PATH -> {
        if (optTrans != FLAG_TRANSITIVE || !asPathWellFormed(b, at, length)) {
          attrs.withdraw("malformed AS_PATH"); // RFC 7606 §7.2
        }
      }
      case ATTR_NEXT_HOP -> {
        if (optTrans != FLAG_TRANSITIVE || length != 4) {
          attrs.withdraw("malformed NEXT_HOP"); // RFC 7606 §7.3
        }
      }
      case ATTR_MED -> {
        if (optTrans != FLAG_OPTIONAL || length != 4) {
          attrs.withdraw("malformed MULTI_EXIT_DISC"); // RFC 7606 §7.4
        }
      }
      case ATTR_LOCAL_PREF -> {
        if (optTrans != FLAG_TRANSITIVE || length != 4) {
          attrs.withdraw("malformed LOCAL_PREF"); // RFC 7606 §7.5
        }
      }
      case ATTR_ATOMIC_AGGREGATE -> {
        if (optTrans != FLAG_TRANSITIVE || length != 0) {
          attrs.discarded.add("malformed ATOMIC_AGGREGATE"); // RFC 7606 §7.6
        }
      }
      case ATTR_AGGREGATOR -> {
        if (optTrans != (FLAG_OPTIONAL | FLAG_TRANSITIVE) || length != 8) {
          attrs.discarded.add("malformed AGGREGATOR"); // RFC 7606 §7.7
        }
      }
      case ATTR_COMMUNITIES -> {
        if (optTrans != (FLAG_OPTIONAL | FLAG_TRANSITIVE) || length == 0 || length % 4 != 0) {
          attrs.withdraw("malformed COMMUNITIES"); // RFC 7606 §7.8
        }
      }
      case ATTR_LARGE_COMMUNITIES -> {
        if (optTrans != (FLAG_OPTIONAL | FLAG_TRANSITIVE) || length == 0 || length % 12 != 0) {
          attrs.withdraw("malformed LARGE_COMMUNITY"); // RFC 8092 §6
        } else {
          for (int i = at; i < at + length; i += 12) {
            attrs.large.add(
                new LargeCommunity(
                    b.getUnsignedInt(i), b.getUnsignedInt(i + 4), b.getUnsignedInt(i + 8)));
          }
        }
      }
      case ATTR_MP_REACH -> mpReach(b, flags, at, length, announced);
      case ATTR_MP_UNREACH -> mpUnreach(b, flags, at, length, withdrawn);
      default -> {
        if (!OdlCodec.TYPES_THE_CODEC_PARSES.contains(type) && (flags & FLAG_OPTIONAL) == 0) {
          // RFC 4271 §6.3, not relaxed by RFC 7606: data is the attribute itself
          int whole = at + length - attrStart;
          byte[] data = new byte[whole];
          b.getBytes(attrStart, data);
          throw new BgpProtocolException(
              new Notification(ERR_UPDATE, UPDATE_UNRECOGNIZED_WELL_KNOWN, data),
              "unrecognized well-known attribute " + type);
        }
        // optional attributes we do not know are ignored (RFC 4271 §5); the codec checks the rest
      }
    }
  }

  private static boolean asPathWellFormed(ByteBuf b, int at, int length) {
    int pos = at;
    int end = at + length;
    while (pos < end) {
      if (end - pos < 2) {
        return false;
      }
      int segType = b.getUnsignedByte(pos);
      int count = b.getUnsignedByte(pos + 1);
      if (segType < 1 || segType > 4 || count == 0) {
        return false; // RFC 7606 §7.2: unknown type or zero-length segment
      }
      pos += 2 + 4 * count;
    }
    return pos == end;
  }

  /**
   * RFC 4760 §3 / RFC 7606 §7.11: errors here cannot be isolated; we do not do AFI/SAFI disable.
   */
  private static void mpReach(ByteBuf b, int flags, int at, int length, List<Prefix> announced) {
    if ((flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE)) != FLAG_OPTIONAL || length < 5) {
      throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "malformed MP_REACH_NLRI");
    }
    int afi = b.getUnsignedShort(at);
    int safi = b.getUnsignedByte(at + 2);
    int nextHopLength = b.getUnsignedByte(at + 3);
    int nlriAt = at + 4 + nextHopLength + 1;
    if (nlriAt > at + length) {
      throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "MP_REACH_NLRI next hop overruns it");
    }
    Optional<Family> family = Family.of(afi, safi);
    if (family.isEmpty()) {
      return; // a family we did not negotiate: its routes are none of our business
    }
    boolean nextHopOk =
        family.get() == Family.IPV4_UNICAST
            ? nextHopLength == 4
            : nextHopLength == 16 || nextHopLength == 32;
    if (!nextHopOk) {
      throw reset(
          UPDATE_MALFORMED_ATTRIBUTE_LIST, "MP_REACH_NLRI next hop length " + nextHopLength);
    }
    announced.addAll(
        prefixes(b, nlriAt, at + length, family.get().hostLength(), "MP_REACH_NLRI", true));
  }

  private static void mpUnreach(ByteBuf b, int flags, int at, int length, List<Prefix> withdrawn) {
    if ((flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE)) != FLAG_OPTIONAL || length < 3) {
      throw reset(UPDATE_MALFORMED_ATTRIBUTE_LIST, "malformed MP_UNREACH_NLRI");
    }
    Optional<Family> family = Family.of(b.getUnsignedShort(at), b.getUnsignedByte(at + 2));
    if (family.isPresent()) {
      withdrawn.addAll(
          prefixes(b, at + 3, at + length, family.get().hostLength(), "MP_UNREACH_NLRI", true));
    }
  }

  private static List<Prefix> prefixes(ByteBuf b, int from, int to, int maxLength, String field) {
    return prefixes(b, from, to, maxLength, field, false);
  }

  /** RFC 4271 §4.3 length-prefixed prefixes; RFC 7606 §5.3: a bad one resets the session. */
  private static List<Prefix> prefixes(
      ByteBuf b, int from, int to, int maxLength, String field, boolean inAttribute) {
    List<Prefix> out = new ArrayList<>();
    int pos = from;
    int addressBytes = maxLength / 8;
    while (pos < to) {
      int length = b.getUnsignedByte(pos);
      int bytes = (length + 7) / 8;
      if (length > maxLength || pos + 1 + bytes > to) {
        throw reset(
            inAttribute ? UPDATE_MALFORMED_ATTRIBUTE_LIST : UPDATE_INVALID_NETWORK_FIELD,
            field + ": bad prefix length " + length);
      }
      byte[] address = new byte[addressBytes];
      b.getBytes(pos + 1, address, 0, bytes);
      try {
        out.add(new Prefix(InetAddress.getByAddress(address), length));
      } catch (UnknownHostException e) {
        throw new IllegalStateException("address of " + addressBytes + " bytes", e);
      }
      pos += 1 + bytes;
    }
    return out;
  }

  private static BgpProtocolException reset(int subcode, String why) {
    return new BgpProtocolException(new Notification(ERR_UPDATE, subcode), why);
  }
}
