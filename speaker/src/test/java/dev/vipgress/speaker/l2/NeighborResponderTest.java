package dev.vipgress.speaker.l2;

import static dev.vipgress.speaker.l2.TestVectors.ip;
import static dev.vipgress.speaker.l2.TestVectors.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.l2.NeighborResponder.Answer;
import dev.vipgress.speaker.l2.NeighborResponder.Conflict;
import dev.vipgress.speaker.l2.NeighborResponder.Decision;
import dev.vipgress.speaker.l2.NeighborResponder.Ignored;
import dev.vipgress.speaker.l2.NeighborResponder.Malformed;
import dev.vipgress.speaker.l2.NeighborResponder.Refused;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which frames are answered, per packet, against the deadline at that instant. */
class NeighborResponderTest {
  private static final Mac OURS = Mac.parse("02:76:67:00:00:0d");
  private static final Mac EXT = Mac.parse("02:76:67:00:00:64");
  private static final Mac OTHER = Mac.parse("02:76:67:00:00:0c");
  private static final Inet4Address VIP4 = (Inet4Address) ip("192.168.100.13");
  private static final Inet6Address VIP6 = (Inet6Address) ip("fd76:100::13");

  private final VipTable table = new VipTable();
  private final NeighborResponder responder = new NeighborResponder(table);

  private Decision on(byte[] frame, long now) {
    return responder.onFrame(frame, frame.length, OURS, now);
  }

  @Test
  void answersArpForALiveVipWithTheInterfaceMac() throws Exception {
    table.announce(VIP4, 1_000, 0);
    Answer a = assertInstanceOf(Answer.class, on(load("kernel-arp-request"), 10));
    assertEquals(VIP4, a.vip());
    ArpPacket reply = (ArpPacket) FrameDecoder.decode(a.frame()).orElseThrow();
    assertEquals(ArpPacket.REPLY, reply.operation());
    assertEquals(OURS, reply.senderMac());
    assertEquals(VIP4, reply.senderIp());
    assertEquals(EXT, reply.ethDestination());
  }

  @Test
  void refusesOncePastTheDeadlineCheckedPerPacket() {
    table.announce(VIP4, 1_000, 0);
    assertInstanceOf(Answer.class, on(load("kernel-arp-request"), 999));
    assertInstanceOf(Refused.class, on(load("kernel-arp-request"), 1_000));
    table.announce(VIP6, 1_000, 0);
    assertInstanceOf(Answer.class, on(load("kernel-ns"), 999));
    assertInstanceOf(Refused.class, on(load("kernel-ns"), 1_001));
  }

  @Test
  void ignoresVipsItDoesNotOwnAndWithdrawnOnes() {
    assertInstanceOf(Ignored.class, on(load("kernel-arp-request"), 0));
    table.announce(VIP4, 1_000, 0);
    table.withdraw(VIP4);
    assertInstanceOf(Ignored.class, on(load("kernel-arp-request"), 1));
  }

  @Test
  void answersSolicitationsIncludingDuplicateAddressDetection() throws Exception {
    table.announce(VIP6, 1_000, 0);
    Answer a = assertInstanceOf(Answer.class, on(load("kernel-ns"), 1));
    NeighborAdvertisement na = (NeighborAdvertisement) FrameDecoder.decode(a.frame()).orElseThrow();
    assertTrue(na.solicited() && na.override());
    assertEquals(Optional.of(OURS), na.targetLinkLayer());

    Inet6Address linkLocal = (Inet6Address) ip("fe80::5eff:fe00:530a");
    table.announce(linkLocal, 1_000, 0);
    Answer dad = assertInstanceOf(Answer.class, on(load("kernel-ns-dad"), 1));
    NeighborAdvertisement toAll =
        (NeighborAdvertisement) FrameDecoder.decode(dad.frame()).orElseThrow();
    assertEquals(L2Constants.ALL_NODES, toAll.destination());
  }

  @Test
  void neverAnswersAGratuitousArpAndReportsAnotherClaimant() {
    table.announce(VIP4, 1_000, 0);
    byte[] theirGarp = FrameEncoder.encode(ArpPacket.gratuitousRequest(OTHER, VIP4));
    Conflict c = assertInstanceOf(Conflict.class, on(theirGarp, 1));
    assertEquals(OTHER, c.claimant());
    byte[] theirNa = FrameEncoder.encode(NeighborAdvertisement.unsolicited(OTHER, VIP6));
    table.announce(VIP6, 1_000, 0);
    assertInstanceOf(Conflict.class, on(theirNa, 1));
    // once fenced, another owner is expected
    assertInstanceOf(Ignored.class, on(theirGarp, 2_000));
  }

  @Test
  void answersAnRfc5227ProbeToTheProber() throws Exception {
    table.announce(VIP4, 1_000, 0);
    byte[] probe =
        FrameEncoder.encode(
            new ArpPacket(
                EXT,
                Mac.BROADCAST,
                ArpPacket.REQUEST,
                EXT,
                (Inet4Address) ip("0.0.0.0"),
                Mac.ZERO,
                VIP4));
    Answer a = assertInstanceOf(Answer.class, on(probe, 1));
    ArpPacket reply = (ArpPacket) FrameDecoder.decode(a.frame()).orElseThrow();
    assertEquals(EXT, reply.targetMac());
    assertEquals(ip("0.0.0.0"), reply.targetIp());
  }

  @Test
  void ignoresItsOwnFramesAndRejectsForwardedNdp() {
    table.announce(VIP4, 1_000, 0);
    table.announce(VIP6, 1_000, 0);
    byte[] own = FrameEncoder.encode(ArpPacket.gratuitousRequest(OURS, VIP4));
    assertInstanceOf(Ignored.class, on(own, 1));
    NeighborSolicitation ns =
        new NeighborSolicitation(
            EXT,
            Mac.ipv6Multicast(L2Constants.solicitedNode(VIP6)),
            (Inet6Address) ip("fd76:100::100"),
            L2Constants.solicitedNode(VIP6),
            64,
            VIP6,
            Optional.of(EXT));
    assertInstanceOf(Malformed.class, on(FrameEncoder.encode(ns), 1));
  }
}
