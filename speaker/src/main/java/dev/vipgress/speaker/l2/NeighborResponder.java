package dev.vipgress.speaker.l2;

import java.net.InetAddress;
import java.util.Optional;

/**
 * Decides what to do with one received frame: answer an ARP request or a neighbour solicitation for
 * a live VIP with the interface's MAC, refuse it for a fenced VIP, or note that some other station
 * claims a VIP this node announces. Pure apart from reading the {@link VipTable}; the caller sends.
 */
final class NeighborResponder {

  /** The outcome for one frame. */
  sealed interface Decision {}

  /** Send {@code frame} (an ARP reply or a solicited NA) for {@code vip}. */
  record Answer(InetAddress vip, byte[] frame) implements Decision {}

  /** A request for a VIP whose fencing deadline has passed: stay silent. */
  record Refused(InetAddress vip) implements Decision {}

  /** Another station announces a VIP that is live here: a split brain, or a stale owner. */
  record Conflict(InetAddress vip, Mac claimant) implements Decision {}

  /** Looks like ARP/NDP but is invalid. */
  record Malformed(String reason) implements Decision {}

  /** Nothing to do. */
  record Ignored() implements Decision {}

  private static final Ignored IGNORED = new Ignored();

  private final VipTable table;

  NeighborResponder(VipTable table) {
    this.table = table;
  }

  Decision onFrame(byte[] frame, int length, Mac ourMac, long nowNanos) {
    Optional<L2Message> decoded;
    try {
      decoded = FrameDecoder.decode(frame, length);
    } catch (MalformedFrameException e) {
      return new Malformed(e.getMessage());
    }
    if (decoded.isEmpty() || decoded.get().ethSource().equals(ourMac)) {
      return IGNORED;
    }
    return switch (decoded.get()) {
      case ArpPacket arp -> onArp(arp, ourMac, nowNanos);
      case NeighborSolicitation ns -> onSolicitation(ns, ourMac, nowNanos);
      case NeighborAdvertisement na -> onAdvertisement(na, ourMac, nowNanos);
    };
  }

  private Decision onArp(ArpPacket arp, Mac ourMac, long now) {
    if (!arp.isProbe()
        && !arp.senderMac().equals(ourMac)
        && table.status(arp.senderIp(), now) == VipTable.Status.LIVE) {
      return new Conflict(arp.senderIp(), arp.senderMac());
    }
    if (!arp.isRequest() || arp.isGratuitous()) {
      return IGNORED;
    }
    return switch (table.status(arp.targetIp(), now)) {
      case LIVE -> new Answer(arp.targetIp(), FrameEncoder.encode(arp.replyFrom(ourMac)));
      case FENCED -> new Refused(arp.targetIp());
      case NOT_OWNED -> IGNORED;
    };
  }

  private Decision onSolicitation(NeighborSolicitation ns, Mac ourMac, long now) {
    if (ns.hopLimit() != L2Constants.NDP_HOP_LIMIT) {
      return new Malformed("NS with hop limit " + ns.hopLimit());
    }
    return switch (table.status(ns.target(), now)) {
      case LIVE -> new Answer(ns.target(), FrameEncoder.encode(ns.answerFrom(ourMac)));
      case FENCED -> new Refused(ns.target());
      case NOT_OWNED -> IGNORED;
    };
  }

  private Decision onAdvertisement(NeighborAdvertisement na, Mac ourMac, long now) {
    if (na.hopLimit() != L2Constants.NDP_HOP_LIMIT) {
      return new Malformed("NA with hop limit " + na.hopLimit());
    }
    Mac claimant = na.targetLinkLayer().orElse(na.ethSource());
    if (!claimant.equals(ourMac) && table.status(na.target(), now) == VipTable.Status.LIVE) {
      return new Conflict(na.target(), claimant);
    }
    return IGNORED;
  }
}
