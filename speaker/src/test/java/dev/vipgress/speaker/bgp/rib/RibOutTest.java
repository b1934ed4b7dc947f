package dev.vipgress.speaker.bgp.rib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.bgp.codec.BgpMessageEncoder;
import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.bgp.codec.PathAttributes;
import dev.vipgress.speaker.bgp.codec.Prefix;
import dev.vipgress.speaker.bgp.codec.Update;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RibOutTest {
  static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static final SessionRoutes DUAL =
      new SessionRoutes(
          Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST),
          4_200_000_011L,
          true,
          Optional.of((Inet4Address) ip("192.0.2.11")),
          Optional.of((Inet6Address) ip("2001:db8::11")));

  static final SessionRoutes V4_ONLY =
      new SessionRoutes(
          Set.of(Family.IPV4_UNICAST), 65011, false, DUAL.nextHop4(), Optional.empty());

  static RibOut.Step step(RibOut rib, SessionRoutes s, Collection<Advertisement> ads) {
    return rib.next(RibOut.wanted(s, ads));
  }

  @Test
  void firstStepAnnouncesEachFamilyWithItsNextHop() {
    RibOut.Step s =
        step(
            RibOut.EMPTY,
            DUAL,
            List.of(Advertisement.of(ip("198.51.100.7")), Advertisement.of(ip("2001:db8:1::7"))));
    assertEquals(2, s.updates().size());
    Update v4 = s.updates().get(0);
    assertEquals(List.of(Prefix.host(ip("198.51.100.7"))), v4.announced());
    PathAttributes a4 = v4.attributes().orElseThrow();
    assertEquals(Optional.of((Inet4Address) ip("192.0.2.11")), a4.nextHop4());
    assertEquals(List.of(4_200_000_011L), a4.asPath());
    Update v6 = s.updates().get(1);
    assertEquals(List.of(Prefix.host(ip("2001:db8:1::7"))), v6.announced());
    assertEquals(
        Optional.of((Inet6Address) ip("2001:db8::11")), v6.attributes().orElseThrow().nextHop6());
  }

  @Test
  void sessionCarriesOnlyItsNegotiatedFamiliesAndIbgpHasAnEmptyAsPath() {
    RibOut.Step s =
        step(
            RibOut.EMPTY,
            V4_ONLY,
            List.of(Advertisement.of(ip("198.51.100.7")), Advertisement.of(ip("2001:db8:1::7"))));
    assertEquals(1, s.updates().size());
    assertEquals(List.of(Prefix.host(ip("198.51.100.7"))), s.updates().get(0).announced());
    assertEquals(List.of(), s.updates().get(0).attributes().orElseThrow().asPath());
    assertEquals(Set.of(Prefix.host(ip("198.51.100.7"))), s.after().advertised().keySet());
  }

  @Test
  void unchangedStateSendsNothing() {
    List<Advertisement> ads = List.of(Advertisement.of(ip("198.51.100.7")));
    RibOut after = step(RibOut.EMPTY, DUAL, ads).after();
    assertEquals(List.of(), step(after, DUAL, ads).updates());
  }

  @Test
  void lostVipIsWithdrawnAndNewOneAnnounced() {
    RibOut after =
        step(
                RibOut.EMPTY,
                DUAL,
                List.of(
                    Advertisement.of(ip("198.51.100.7")), Advertisement.of(ip("2001:db8:1::7"))))
            .after();
    RibOut.Step s = step(after, DUAL, List.of(Advertisement.of(ip("198.51.100.8"))));
    assertEquals(3, s.updates().size());
    assertEquals(List.of(Prefix.host(ip("198.51.100.7"))), s.updates().get(0).withdrawn());
    assertEquals(List.of(Prefix.host(ip("2001:db8:1::7"))), s.updates().get(1).withdrawn());
    assertEquals(List.of(Prefix.host(ip("198.51.100.8"))), s.updates().get(2).announced());
  }

  @Test
  void changedCommunitiesReannounceWithoutWithdrawing() {
    RibOut after = step(RibOut.EMPTY, DUAL, List.of(Advertisement.of(ip("198.51.100.7")))).after();
    RibOut.Step s =
        step(
            after,
            DUAL,
            List.of(
                new Advertisement(
                    ip("198.51.100.7"),
                    List.of(new Community(65000, 1)),
                    List.of(new LargeCommunity(1, 2, 3)))));
    assertEquals(1, s.updates().size());
    assertEquals(List.of(), s.updates().get(0).withdrawn());
    assertEquals(
        List.of(new Community(65000, 1)),
        s.updates().get(0).attributes().orElseThrow().communities());
  }

  @Test
  void routeRefreshResendsOneFamily() {
    RibOut after =
        step(
                RibOut.EMPTY,
                DUAL,
                List.of(
                    Advertisement.of(ip("198.51.100.7")), Advertisement.of(ip("2001:db8:1::7"))))
            .after();
    List<Update> r = after.refresh(Family.IPV6_UNICAST);
    assertEquals(1, r.size());
    assertEquals(List.of(Prefix.host(ip("2001:db8:1::7"))), r.get(0).announced());
  }

  @Test
  void tenThousandVipsFitInMessagesOfAtMost4096OctetsAndAllArrive() {
    List<Advertisement> ads = new ArrayList<>();
    List<Community> communities = List.of(new Community(65000, 1), new Community(65000, 2));
    List<LargeCommunity> large = List.of(new LargeCommunity(4_200_000_011L, 1, 1));
    for (int i = 0; i < 5000; i++) {
      ads.add(new Advertisement(ip("10.%d.%d.1".formatted(i / 250, i % 250)), communities, large));
      ads.add(new Advertisement(ip("2001:db8:%x::1".formatted(i)), communities, large));
    }
    RibOut.Step s = step(RibOut.EMPTY, DUAL, ads);
    Set<Prefix> announced = new HashSet<>();
    for (Update u : s.updates()) {
      ByteBuf b = Unpooled.buffer();
      BgpMessageEncoder.encode(u, b);
      assertTrue(b.readableBytes() <= 4096, "UPDATE of " + b.readableBytes() + " octets");
      b.release();
      announced.addAll(u.announced());
    }
    assertEquals(10_000, announced.size());
    List<Update> gone = step(s.after(), DUAL, List.of()).updates();
    int withdrawn = 0;
    for (Update u : gone) {
      ByteBuf b = Unpooled.buffer();
      BgpMessageEncoder.encode(u, b);
      assertTrue(b.readableBytes() <= 4096, "UPDATE of " + b.readableBytes() + " octets");
      b.release();
      withdrawn += u.withdrawn().size();
    }
    assertEquals(10_000, withdrawn);
    assertEquals(Map.of(), step(s.after(), DUAL, List.of()).after().advertised());
  }

  @Test
  void attributesTooLargeForAnyUpdateAreRefusedWithWhatToDo() {
    List<LargeCommunity> many = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      many.add(new LargeCommunity(1, 1, i));
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                step(
                    RibOut.EMPTY,
                    DUAL,
                    List.of(new Advertisement(ip("198.51.100.7"), List.of(), many))));
    assertTrue(e.getMessage().contains("reduce"));
  }
}
