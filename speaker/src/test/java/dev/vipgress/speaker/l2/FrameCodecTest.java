package dev.vipgress.speaker.l2;

import static dev.vipgress.speaker.l2.TestVectors.ip;
import static dev.vipgress.speaker.l2.TestVectors.load;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The codec against frames captured from the Linux kernel (testdata/*.hex). */
class FrameCodecTest {
  private static final Mac EXT = Mac.parse("02:76:67:00:00:64");
  private static final Mac NODE3 = Mac.parse("02:76:67:00:00:0d");

  private static L2Message decode(byte[] f) throws MalformedFrameException {
    return FrameDecoder.decode(f).orElseThrow();
  }

  /** Our ARP frames are padded to 60 bytes; Linux leaves padding to the NIC (veth: none). */
  private static void assertSameFramePadded(byte[] kernel, byte[] ours) {
    assertEquals(60, ours.length);
    assertArrayEquals(kernel, Arrays.copyOf(ours, kernel.length));
    for (int i = kernel.length; i < ours.length; i++) {
      assertEquals(0, ours[i], "padding byte " + i);
    }
  }

  @Test
  void decodesTheKernelsArpRequest() throws Exception {
    ArpPacket req = (ArpPacket) decode(load("kernel-arp-request"));
    assertEquals(ArpPacket.REQUEST, req.operation());
    assertEquals(Mac.BROADCAST, req.ethDestination());
    assertEquals(EXT, req.ethSource());
    assertEquals(EXT, req.senderMac());
    assertEquals(ip("192.168.100.100"), req.senderIp());
    assertEquals(ip("192.168.100.13"), req.targetIp());
    assertFalse(req.isGratuitous());
    assertFalse(req.isProbe());
  }

  @Test
  void answersAnArpRequestByteForByteLikeTheKernel() throws Exception {
    ArpPacket req = (ArpPacket) decode(load("kernel-arp-request"));
    assertSameFramePadded(load("kernel-arp-reply"), FrameEncoder.encode(req.replyFrom(NODE3)));
  }

  @Test
  void gratuitousRequestMatchesTheKernelsArpNotify() throws Exception {
    byte[] ours =
        FrameEncoder.encode(
            ArpPacket.gratuitousRequest(
                Mac.parse("02:00:5e:00:53:0a"), (Inet4Address) ip("192.0.2.10")));
    assertSameFramePadded(load("kernel-garp"), ours);
    ArpPacket back = (ArpPacket) decode(ours);
    assertTrue(back.isGratuitous());
    assertTrue(back.isRequest());
  }

  @Test
  void decodesTheKernelsSolicitationAndVerifiesItsChecksum() throws Exception {
    NeighborSolicitation ns = (NeighborSolicitation) decode(load("kernel-ns"));
    assertEquals(ip("fd76:100::100"), ns.source());
    assertEquals(ip("ff02::1:ff00:13"), ns.destination());
    assertEquals(ip("fd76:100::13"), ns.target());
    assertEquals(255, ns.hopLimit());
    assertEquals(Optional.of(EXT), ns.sourceLinkLayer());
    assertEquals(Mac.parse("33:33:ff:00:00:13"), ns.ethDestination());
    assertEquals(L2Constants.solicitedNode((Inet6Address) ip("fd76:100::13")), ns.destination());
  }

  @Test
  void encodesTheKernelsSolicitedAdvertisementExactlyIncludingChecksum() throws Exception {
    NeighborSolicitation ns = (NeighborSolicitation) decode(load("kernel-ns"));
    NeighborAdvertisement ours = ns.answerFrom(NODE3);
    // the kernel node forwards, so it sets Router; everything else must be identical
    NeighborAdvertisement asRouter =
        new NeighborAdvertisement(
            ours.ethSource(),
            ours.ethDestination(),
            ours.source(),
            ours.destination(),
            ours.hopLimit(),
            ours.target(),
            true,
            ours.solicited(),
            ours.override(),
            ours.targetLinkLayer());
    assertArrayEquals(load("kernel-na-solicited"), FrameEncoder.encode(asRouter));
    assertEquals(asRouter, decode(load("kernel-na-solicited")));
  }

  @Test
  void ourSolicitedAdvertisementHasSolicitedOverrideAndAValidChecksum() throws Exception {
    NeighborSolicitation ns = (NeighborSolicitation) decode(load("kernel-ns"));
    byte[] f = FrameEncoder.encode(ns.answerFrom(NODE3));
    NeighborAdvertisement na = (NeighborAdvertisement) decode(f); // verifies the checksum
    assertEquals(EXT, na.ethDestination());
    assertEquals(NODE3, na.ethSource());
    assertEquals(ip("fd76:100::13"), na.source());
    assertEquals(ip("fd76:100::100"), na.destination());
    assertEquals(255, na.hopLimit());
    assertTrue(na.solicited());
    assertTrue(na.override());
    assertFalse(na.router());
    assertEquals(Optional.of(NODE3), na.targetLinkLayer());
    // flags byte 0x60, checksum 0x2f95 + 0x8000 (R cleared) in one's complement
    assertEquals(0x60, f[14 + 40 + 4] & 0xFF);
    assertEquals(0xaf95, ((f[14 + 40 + 2] & 0xFF) << 8) | (f[14 + 40 + 3] & 0xFF));
  }

  @Test
  void encodesTheKernelsUnsolicitedAdvertisementExactly() {
    byte[] ours =
        FrameEncoder.encode(
            NeighborAdvertisement.unsolicited(
                Mac.parse("02:00:5e:00:53:0a"), (Inet6Address) ip("2001:db8::10")));
    assertArrayEquals(load("kernel-na-unsolicited"), ours);
  }

  @Test
  void duplicateAddressDetectionIsAnsweredToAllNodesWithoutSolicited() throws Exception {
    NeighborSolicitation dad = (NeighborSolicitation) decode(load("kernel-ns-dad"));
    assertTrue(dad.isDuplicateAddressDetection());
    assertEquals(Optional.empty(), dad.sourceLinkLayer()); // the nonce option is skipped
    NeighborAdvertisement na = dad.answerFrom(NODE3);
    assertEquals(L2Constants.ALL_NODES, na.destination());
    assertEquals(Mac.parse("33:33:00:00:00:01"), na.ethDestination());
    assertFalse(na.solicited());
    assertTrue(na.override());
    assertEquals(na, decode(FrameEncoder.encode(na)));
  }

  @Test
  void solicitationRoundTrips() throws Exception {
    NeighborSolicitation ns = (NeighborSolicitation) decode(load("kernel-ns"));
    assertArrayEquals(load("kernel-ns"), FrameEncoder.encode(ns));
  }

  @Test
  void checksumOverACorrectMessageIsZero() {
    byte[] f = load("kernel-na-unsolicited");
    byte[] src = Arrays.copyOfRange(f, 22, 38);
    byte[] dst = Arrays.copyOfRange(f, 38, 54);
    assertEquals(0, Icmpv6Checksum.compute(src, dst, f, 54, 32));
    f[54 + 2] = 0;
    f[54 + 3] = 0;
    assertEquals(0x4803, Icmpv6Checksum.compute(src, dst, f, 54, 32));
  }

  @Test
  void rejectsABadChecksum() {
    byte[] f = load("kernel-ns");
    f[f.length - 1] ^= 1;
    MalformedFrameException e =
        assertThrows(MalformedFrameException.class, () -> FrameDecoder.decode(f));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
  }

  @Test
  void rejectsTruncatedAndZeroLengthOptions() {
    byte[] ns = load("kernel-ns");
    assertThrows(MalformedFrameException.class, () -> FrameDecoder.decode(ns, ns.length - 4));
    byte[] zeroOpt = ns.clone();
    zeroOpt[14 + 40 + 24 + 1] = 0; // option length 0
    fixChecksum(zeroOpt);
    assertThrows(MalformedFrameException.class, () -> FrameDecoder.decode(zeroOpt));
    byte[] arp = load("kernel-arp-request");
    assertThrows(MalformedFrameException.class, () -> FrameDecoder.decode(arp, 30));
  }

  @Test
  void rejectsANonZeroCodeAndAMulticastTarget() {
    byte[] code = load("kernel-ns");
    code[14 + 40 + 1] = 1;
    fixChecksum(code);
    assertThrows(MalformedFrameException.class, () -> FrameDecoder.decode(code));
    byte[] mcast = load("kernel-ns");
    mcast[14 + 40 + 8] = (byte) 0xff;
    fixChecksum(mcast);
    assertThrows(MalformedFrameException.class, () -> FrameDecoder.decode(mcast));
  }

  @Test
  void ignoresWhatIsNotArpOrNdp() throws Exception {
    byte[] ip4 = load("kernel-arp-request");
    ip4[12] = 0x08;
    ip4[13] = 0x00; // IPv4
    assertEquals(Optional.empty(), FrameDecoder.decode(ip4));
    byte[] vlan = load("kernel-arp-request");
    vlan[12] = (byte) 0x81;
    vlan[13] = 0x00;
    assertEquals(Optional.empty(), FrameDecoder.decode(vlan));
    byte[] echo = load("kernel-ns");
    echo[14 + 40] = (byte) 128; // echo request
    assertEquals(Optional.empty(), FrameDecoder.decode(echo));
    assertEquals(Optional.empty(), FrameDecoder.decode(new byte[10]));
  }

  @Test
  void macParsesPrintsAndMapsMulticast() {
    Mac m = Mac.parse("02:76:67:00:00:0B");
    assertEquals("02:76:67:00:00:0b", m.toString());
    assertEquals(m, Mac.of(m.toBytes()));
    assertFalse(m.isMulticast());
    assertTrue(Mac.BROADCAST.isMulticast());
    assertEquals(
        Mac.parse("33:33:ff:00:02:41"),
        Mac.ipv6Multicast(L2Constants.solicitedNode((Inet6Address) ip("fd76:100::241"))));
    assertThrows(IllegalArgumentException.class, () -> Mac.parse("02:76:67:00:00"));
  }

  private static void fixChecksum(byte[] f) {
    int icmp = 14 + 40;
    int len = ((f[18] & 0xFF) << 8) | (f[19] & 0xFF);
    f[icmp + 2] = 0;
    f[icmp + 3] = 0;
    int c =
        Icmpv6Checksum.compute(
            Arrays.copyOfRange(f, 22, 38), Arrays.copyOfRange(f, 38, 54), f, icmp, len);
    f[icmp + 2] = (byte) (c >>> 8);
    f[icmp + 3] = (byte) c;
  }
}
