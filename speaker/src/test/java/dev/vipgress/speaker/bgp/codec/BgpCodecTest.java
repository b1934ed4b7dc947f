package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.Wire.attr;
import static dev.vipgress.speaker.bgp.codec.Wire.baseAttributes;
import static dev.vipgress.speaker.bgp.codec.Wire.concat;
import static dev.vipgress.speaker.bgp.codec.Wire.hex;
import static dev.vipgress.speaker.bgp.codec.Wire.ip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Messages through framer + decoder + encoder on an {@link EmbeddedChannel}. */
class BgpCodecTest {
  private static EmbeddedChannel channel() {
    return new EmbeddedChannel(new BgpFramer(), new BgpMessageDecoder(), new BgpMessageEncoder());
  }

  private static BgpMessage roundTrip(BgpMessage m) {
    EmbeddedChannel out = channel();
    out.writeOutbound(m);
    ByteBuf wire = out.readOutbound();
    EmbeddedChannel in = channel();
    in.writeInbound(wire);
    return in.readInbound();
  }

  private static BgpMessage decode(byte[] bytes) {
    EmbeddedChannel in = channel();
    in.writeInbound(Unpooled.wrappedBuffer(bytes));
    return in.readInbound();
  }

  private static Notification rejected(byte[] bytes) {
    EmbeddedChannel in = channel();
    BgpProtocolException e =
        assertThrows(
            BgpProtocolException.class, () -> in.writeInbound(Unpooled.wrappedBuffer(bytes)));
    return e.notification();
  }

  private static PathAttributes attributes(String nh4, String nh6) {
    return new PathAttributes(
        List.of(4_200_000_001L),
        Optional.ofNullable(nh4).map(a -> (Inet4Address) ip(a)),
        Optional.ofNullable(nh6).map(a -> (Inet6Address) ip(a)),
        List.of(new Community(65000, 100)),
        List.of(new LargeCommunity(4_200_000_001L, 1, 2)));
  }

  @Test
  void keepaliveSplitAcrossReadsIsOneMessage() {
    byte[] k = Wire.message(4, new byte[0]);
    EmbeddedChannel in = channel();
    in.writeInbound(Unpooled.wrappedBuffer(k, 0, 7));
    assertNull(in.readInbound());
    in.writeInbound(Unpooled.wrappedBuffer(k, 7, 12));
    assertEquals(Keepalive.INSTANCE, in.readInbound());
  }

  @Test
  void openWithFourOctetAsAndBothFamiliesRoundTrips() {
    Open ours =
        Open.ours(
            4_200_000_001L,
            90,
            (Inet4Address) ip("192.0.2.11"),
            Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST));
    assertEquals(ours, roundTrip(ours));
  }

  @Test
  void openCarriesAsTransInTheTwoOctetField() {
    EmbeddedChannel out = channel();
    out.writeOutbound(
        Open.ours(
            4_200_000_001L, 90, (Inet4Address) ip("192.0.2.11"), Set.of(Family.IPV4_UNICAST)));
    ByteBuf wire = out.readOutbound();
    assertEquals(4, wire.getUnsignedByte(19));
    assertEquals(BgpConstants.AS_TRANS, wire.getUnsignedShort(20)); // RFC 6793 §4.1
    assertEquals(90, wire.getUnsignedShort(22));
    wire.release();
  }

  @Test
  void ipv4AnnouncementWithCommunitiesAndLargeCommunitiesRoundTrips() {
    Update u =
        Update.announce(List.of(Prefix.host(ip("198.51.100.7"))), attributes("192.0.2.11", null));
    assertEquals(u, roundTrip(u));
  }

  @Test
  void ipv6AnnouncementGoesInMpReachAndRoundTrips() {
    Update u =
        Update.announce(List.of(Prefix.host(ip("2001:db8::7"))), attributes(null, "2001:db8::11"));
    assertEquals(u, roundTrip(u));
  }

  @Test
  void withdrawalsOfBothFamiliesRoundTrip() {
    Update u =
        Update.withdraw(List.of(Prefix.host(ip("198.51.100.7")), Prefix.host(ip("2001:db8::7"))));
    assertEquals(u, roundTrip(u));
  }

  @Test
  void shutdownNotificationCarriesItsMessage() {
    Notification n = Notification.shutdown("node drained");
    BgpMessage back = roundTrip(n);
    assertEquals(n, back);
    assertEquals(Optional.of("node drained"), ((Notification) back).shutdownMessage());
    assertEquals(6, n.code());
    assertEquals(2, n.subcode());
  }

  @Test
  void shutdownMessageIsCutAtACharacterBoundaryTo255Octets() {
    Notification n = Notification.shutdown("é".repeat(200)); // 400 octets of UTF-8
    assertEquals(254, n.data()[0] & 0xff);
    assertEquals(Optional.of("é".repeat(127)), n.shutdownMessage());
  }

  @Test
  void routeRefreshRoundTrips() {
    RouteRefresh r = RouteRefresh.of(Family.IPV6_UNICAST);
    assertEquals(r, roundTrip(r));
  }

  // ---- header errors: RFC 4271 §6.1 --------------------------------------------------------

  @Test
  void badMarkerIsConnectionNotSynchronized() {
    byte[] k = Wire.message(4, new byte[0]);
    k[3] = 0;
    assertEquals(new Notification(1, 1), rejected(k));
  }

  @Test
  void lengthsOutsideTheTypesBoundsAreBadMessageLengthWithTheLength() {
    byte[] keepalive20 = Wire.message(4, new byte[1]);
    assertEquals(new Notification(1, 2, hex("0014")), rejected(keepalive20));
    byte[] shortOpen = Wire.message(1, new byte[9]);
    assertEquals(new Notification(1, 2, hex("001c")), rejected(shortOpen));
    byte[] huge = Wire.message(2, new byte[4096 - 18]);
    assertEquals(new Notification(1, 2, hex("1001")), rejected(huge));
    byte[] tiny = Wire.message(4, new byte[0]);
    tiny[17] = 18;
    assertEquals(new Notification(1, 2, hex("0012")), rejected(tiny));
  }

  @Test
  void unknownTypeIsBadMessageType() {
    assertEquals(new Notification(1, 3, hex("06")), rejected(Wire.message(6, new byte[0])));
  }

  @Test
  void routeRefreshOfTheWrongLengthIsRouteRefreshError() {
    assertEquals(new Notification(7, 1, hex("0018")), rejected(Wire.message(5, new byte[5])));
  }

  @Test
  void afterABadHeaderNothingMoreIsDecoded() {
    byte[] bad = Wire.message(9, new byte[0]);
    EmbeddedChannel in = channel();
    assertThrows(
        BgpProtocolException.class,
        () -> in.writeInbound(Unpooled.wrappedBuffer(concat(bad, Wire.message(4, new byte[0])))));
    in.writeInbound(Unpooled.wrappedBuffer(Wire.message(4, new byte[0])));
    assertNull(in.readInbound());
  }

  // ---- OPEN errors come from the codec with its NOTIFICATION ---------------------------------

  @Test
  void openOfAnotherVersionIsUnsupportedVersion() {
    byte[] open = hex("03 fde9 005a c0000201 00");
    assertEquals(2, rejected(Wire.message(1, open)).code());
    assertEquals(1, rejected(Wire.message(1, open)).subcode());
  }

  @Test
  void holdTimeOfOneIsUnacceptable() {
    assertEquals(
        new Notification(2, 6), rejected(Wire.message(1, hex("04 fde9 0001 c0000201 00"))));
  }

  // ---- RFC 7606 on received UPDATEs ---------------------------------------------------------

  private static final byte[] NLRI = hex("20 c6336407"); // 198.51.100.7/32

  @Test
  void wellFormedUpdateIsParsedWithItsAttributes() {
    byte[] large = attr(0xc0, 32, hex("fa56ea01 00000001 00000002"));
    Update u = (Update) decode(Wire.update(new byte[0], concat(baseAttributes(), large), NLRI));
    assertEquals(List.of(Prefix.host(ip("198.51.100.7"))), u.announced());
    PathAttributes a = u.attributes().orElseThrow();
    assertEquals(List.of(65001L), a.asPath());
    assertEquals(Optional.of((Inet4Address) ip("192.0.2.1")), a.nextHop4());
    assertEquals(List.of(new LargeCommunity(4_200_000_001L, 1, 2)), a.largeCommunities());
    assertTrue(u.treatAsWithdraw().isEmpty());
  }

  @Test
  void malformedCommunitiesAreTreatAsWithdraw() {
    byte[] bad = attr(0xc0, 8, hex("fde900"));
    Update u = (Update) decode(Wire.update(new byte[0], concat(baseAttributes(), bad), NLRI));
    assertEquals(List.of(), u.announced());
    assertEquals(List.of(Prefix.host(ip("198.51.100.7"))), u.withdrawn());
    assertTrue(u.treatAsWithdraw().isPresent());
  }

  @Test
  void malformedLargeCommunitiesAreTreatAsWithdraw() {
    byte[] bad = attr(0xc0, 32, hex("fa56ea01 00000001"));
    Update u = (Update) decode(Wire.update(new byte[0], concat(baseAttributes(), bad), NLRI));
    assertTrue(u.treatAsWithdraw().isPresent());
  }

  @Test
  void missingNextHopIsTreatAsWithdraw() {
    byte[] attrs = concat(attr(0x40, 1, hex("00")), attr(0x40, 2, hex("02 01 0000fde9")));
    Update u = (Update) decode(Wire.update(new byte[0], attrs, NLRI));
    assertEquals(Optional.of("NEXT_HOP missing"), u.treatAsWithdraw());
  }

  @Test
  void attributeOverrunningTheListIsTreatAsWithdraw() {
    byte[] attrs = concat(baseAttributes(), hex("c0 08 09 fde90064"));
    Update u = (Update) decode(Wire.update(new byte[0], attrs, new byte[0]));
    assertTrue(u.treatAsWithdraw().isPresent());
  }

  @Test
  void malformedAggregatorIsDiscardedAndTheRoutesKept() {
    byte[] bad = attr(0xc0, 7, hex("fde9c000"));
    Update u = (Update) decode(Wire.update(new byte[0], concat(baseAttributes(), bad), NLRI));
    assertTrue(u.treatAsWithdraw().isEmpty(), u.treatAsWithdraw().toString());
    assertEquals(List.of(Prefix.host(ip("198.51.100.7"))), u.announced());
  }

  @Test
  void unknownOptionalAttributeIsIgnored() {
    byte[] unknown = attr(0xc0, 99, hex("0102"));
    Update u = (Update) decode(Wire.update(new byte[0], concat(baseAttributes(), unknown), NLRI));
    assertTrue(u.treatAsWithdraw().isEmpty());
  }

  @Test
  void unrecognizedWellKnownAttributeResetsWithTheAttributeAsData() {
    byte[] unknown = attr(0x40, 99, hex("0102"));
    assertEquals(
        new Notification(3, 2, unknown),
        rejected(Wire.update(new byte[0], concat(baseAttributes(), unknown), NLRI)));
  }

  @Test
  void totalAttributeLengthOverrunningTheMessageResets() {
    byte[] u = Wire.update(new byte[0], baseAttributes(), NLRI);
    u[21] = (byte) 0xff; // total path attribute length
    assertEquals(new Notification(3, 1), rejected(u));
  }

  @Test
  void nlriWithAnImpossiblePrefixLengthResets() {
    assertEquals(
        new Notification(3, 10),
        rejected(Wire.update(new byte[0], baseAttributes(), hex("21 c633640700"))));
  }

  @Test
  void repeatedMpReachResets() {
    byte[] mp =
        attr(
            0x80,
            14,
            hex(
                "0002 01 10 20010db8000000000000000000000011 00 80 20010db8000000000000000000000007"));
    byte[] attrs = concat(attr(0x40, 1, hex("00")), attr(0x40, 2, hex("02 01 0000fde9")), mp, mp);
    assertEquals(new Notification(3, 1), rejected(Wire.update(new byte[0], attrs, new byte[0])));
  }

  @Test
  void mpReachWithABadNextHopLengthResets() {
    byte[] mp = attr(0x80, 14, hex("0002 01 05 2001db8000 00"));
    byte[] attrs = concat(attr(0x40, 1, hex("00")), attr(0x40, 2, hex("02 01 0000fde9")), mp);
    assertEquals(new Notification(3, 1), rejected(Wire.update(new byte[0], attrs, new byte[0])));
  }

  @Test
  void receivedIpv6AnnouncementIsRead() {
    byte[] mp =
        attr(
            0x80,
            14,
            hex(
                "0002 01 10 20010db8000000000000000000000011 00 80 20010db8000000000000000000000007"));
    byte[] attrs = concat(attr(0x40, 1, hex("00")), attr(0x40, 2, hex("02 01 0000fde9")), mp);
    Update u = (Update) decode(Wire.update(new byte[0], attrs, new byte[0]));
    assertEquals(List.of(Prefix.host(ip("2001:db8::7"))), u.announced());
    assertEquals(
        Optional.of((Inet6Address) ip("2001:db8::11")), u.attributes().orElseThrow().nextHop6());
  }

  @Test
  void notificationKeepsUnknownCodesAndData() {
    Notification n = (Notification) decode(Wire.message(3, hex("0909 abcd")));
    assertEquals(new Notification(9, 9, hex("abcd")), n);
    assertInstanceOf(Notification.class, decode(Wire.message(3, hex("060a"))));
  }

  @Test
  void malformedShutdownCommunicationIsNotAnError() {
    Notification n = (Notification) decode(Wire.message(3, hex("0602 05 6869")));
    assertTrue(n.shutdownMessage().isEmpty());
    assertArrayEquals(hex("05 6869"), n.data());
  }
}
