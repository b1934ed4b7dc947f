package dev.vipgress.speaker.l2;

import java.net.Inet4Address;
import java.util.Objects;

/**
 * An Ethernet/IPv4 ARP packet (RFC 826) in an Ethernet frame.
 *
 * @param operation {@link L2Constants#ARP_OP_REQUEST} or {@link L2Constants#ARP_OP_REPLY}
 * @param senderMac sender hardware address (SHA)
 * @param senderIp sender protocol address (SPA); 0.0.0.0 in an RFC 5227 probe
 * @param targetMac target hardware address (THA); ignored in requests
 * @param targetIp target protocol address (TPA)
 */
public record ArpPacket(
    Mac ethSource,
    Mac ethDestination,
    int operation,
    Mac senderMac,
    Inet4Address senderIp,
    Mac targetMac,
    Inet4Address targetIp)
    implements L2Message {

  public static final int REQUEST = L2Constants.ARP_OP_REQUEST;
  public static final int REPLY = L2Constants.ARP_OP_REPLY;

  public ArpPacket {
    Objects.requireNonNull(ethSource);
    Objects.requireNonNull(ethDestination);
    Objects.requireNonNull(senderMac);
    Objects.requireNonNull(senderIp);
    Objects.requireNonNull(targetMac);
    Objects.requireNonNull(targetIp);
    if (operation != REQUEST && operation != REPLY) {
      throw new IllegalArgumentException("ARP operation " + operation);
    }
  }

  /**
   * A gratuitous ARP request announcing that {@code vip} is at {@code mac}: broadcast, sender IP =
   * target IP = VIP, target MAC zero (the announcement of RFC 5227 section 2.3). Linux replaces an
   * existing neighbour entry on such a request even inside its lock time, unlike a gratuitous reply
   * (datapath.md).
   */
  public static ArpPacket gratuitousRequest(Mac mac, Inet4Address vip) {
    return new ArpPacket(mac, Mac.BROADCAST, REQUEST, mac, vip, Mac.ZERO, vip);
  }

  /**
   * The reply {@code ourMac} gives to this request, the way Linux answers for its own addresses:
   * unicast to the requester's SHA, THA/TPA copied from SHA/SPA (so an RFC 5227 probe with SPA
   * 0.0.0.0 gets TPA 0.0.0.0).
   */
  public ArpPacket replyFrom(Mac ourMac) {
    if (operation != REQUEST) {
      throw new IllegalStateException("only requests are answered");
    }
    return new ArpPacket(ourMac, senderMac, REPLY, ourMac, targetIp, senderMac, senderIp);
  }

  public boolean isRequest() {
    return operation == REQUEST;
  }

  /** Sender IP equals target IP: someone announcing the address (a gratuitous ARP). */
  public boolean isGratuitous() {
    return senderIp.equals(targetIp);
  }

  /** SPA 0.0.0.0: an RFC 5227 address probe. */
  public boolean isProbe() {
    return senderIp.isAnyLocalAddress();
  }
}
