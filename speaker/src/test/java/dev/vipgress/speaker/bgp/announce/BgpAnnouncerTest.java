package dev.vipgress.speaker.bgp.announce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.PathAttributes;
import dev.vipgress.speaker.bgp.codec.Prefix;
import dev.vipgress.speaker.bgp.codec.Update;
import dev.vipgress.speaker.bgp.rib.Advertisement;
import dev.vipgress.speaker.config.BgpConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The announcer against routers on netty's in-VM transport: real sessions, real UPDATEs. */
class BgpAnnouncerTest {
  static final Inet4Address NODE = (Inet4Address) ip("192.0.2.11");
  static final Inet6Address NODE6 = (Inet6Address) ip("2001:db8::11");
  static final InetAddress VIP = ip("198.51.100.7");
  static final InetAddress VIP6 = ip("2001:db8:7::7");
  static final long HOUR = TimeUnit.HOURS.toNanos(1);

  final EventLoopGroup routers = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
  final List<AutoCloseable> open = new ArrayList<>();
  final Semaphore healthChanges = new Semaphore(0);

  static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static BgpConfig.Peer peer(String address, long peerAs, Set<Family> families) {
    return new BgpConfig.Peer(
        ip(address),
        179,
        peerAs,
        4_200_000_011L,
        Duration.ofSeconds(90),
        Duration.ofSeconds(30),
        Duration.ofSeconds(5),
        Optional.empty(),
        Optional.empty(),
        0,
        Optional.empty(),
        Map.of(),
        families);
  }

  static LocalAddress addressOf(BgpConfig.Peer p) {
    return new LocalAddress("router-" + p.name());
  }

  static final Transport IN_VM =
      new Transport(
          () -> new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory()),
          p -> new Bootstrap().channel(LocalChannel.class),
          BgpAnnouncerTest::addressOf,
          local -> new Transport.NextHops(Optional.of(NODE), Optional.of(NODE6)));

  FakeRouter router(BgpConfig.Peer p) throws Exception {
    FakeRouter r = new FakeRouter(routers, addressOf(p), p.peerAsn(), p.families());
    open.add(r);
    return r;
  }

  BgpAnnouncer announcer(BgpConfig cfg) throws Exception {
    BgpAnnouncer a =
        new BgpAnnouncer(
            IN_VM,
            cfg,
            Optional.of(NODE),
            Optional.of(Map.of()),
            new BgpMetrics(new PrometheusRegistry()));
    a.onHealthChange(healthChanges::release);
    a.start();
    open.add(0, a);
    return a;
  }

  static BgpConfig config(BgpConfig.Peer... peers) {
    return new BgpConfig(Optional.empty(), List.of(), List.of(), List.of(peers));
  }

  /** Waits for health callbacks until the announcer can announce {@code vip}. */
  void awaitCarries(BgpAnnouncer a, InetAddress vip) throws InterruptedException {
    while (!a.canAnnounce(vip)) {
      assertTrue(healthChanges.tryAcquire(10, TimeUnit.SECONDS), "no session came up");
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    routers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  @Test
  void announcesHostRoutesWithTheNodesNextHopsAndWithdrawsThem() throws Exception {
    BgpConfig.Peer p = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST));
    FakeRouter r = router(p);
    BgpAnnouncer a = announcer(config(p));
    awaitCarries(a, VIP);
    assertTrue(a.healthy());

    a.announce(VIP, System.nanoTime() + HOUR);
    Update u = assertInstanceOf(Update.class, r.next());
    assertEquals(List.of(Prefix.host(VIP)), u.announced());
    PathAttributes at = u.attributes().orElseThrow();
    assertEquals(Optional.of(NODE), at.nextHop4());
    assertEquals(List.of(4_200_000_011L), at.asPath(), "eBGP: our 4-byte AS prepended");

    a.announce(VIP6, System.nanoTime() + HOUR);
    Update u6 = assertInstanceOf(Update.class, r.next());
    assertEquals(List.of(Prefix.host(VIP6)), u6.announced());
    assertEquals(Optional.of(NODE6), u6.attributes().orElseThrow().nextHop6());

    a.withdraw(VIP);
    Update w = assertInstanceOf(Update.class, r.next());
    assertEquals(List.of(Prefix.host(VIP)), w.withdrawn());
    assertEquals(1, a.peers().get(0).prefixes());
    assertEquals("Established", a.peers().get(0).state());
  }

  @Test
  void withdrawingManyVipsIsOneUpdateNotOnePerVip() throws Exception {
    BgpConfig.Peer p = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST));
    FakeRouter r = router(p);
    BgpAnnouncer a = announcer(config(p));
    awaitCarries(a, VIP);
    List<InetAddress> vips = new ArrayList<>();
    for (int i = 1; i <= 200; i++) {
      vips.add(ip("198.51.100." + i));
    }
    vips.forEach(v -> a.announce(v, System.nanoTime() + HOUR));
    int announced = 0;
    while (announced < vips.size()) {
      announced += assertInstanceOf(Update.class, r.next()).announced().size();
    }
    a.withdrawAll(vips);
    Update w = assertInstanceOf(Update.class, r.next());
    assertEquals(vips.size(), w.withdrawn().size(), "one UPDATE withdraws them all");
    assertEquals(0, a.peers().get(0).prefixes());
  }

  @Test
  void aSessionCarriesOnlyItsFamiliesAndLosingTheLastOneMakesTheAnnouncerUnhealthy()
      throws Exception {
    BgpConfig.Peer p = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST));
    FakeRouter r = router(p);
    BgpAnnouncer a = announcer(config(p));
    awaitCarries(a, VIP);
    assertFalse(a.canAnnounce(VIP6), "an IPv4-only session cannot carry an IPv6 VIP");

    r.drop();
    while (a.healthy()) {
      assertTrue(healthChanges.tryAcquire(10, TimeUnit.SECONDS), "no health change");
    }
    assertFalse(a.canAnnounce(VIP));
    assertEquals(1, a.peers().get(0).flaps());
    // the session comes back by itself (backoff), and the VIP owned meanwhile is advertised
    a.announce(VIP, System.nanoTime() + HOUR);
    awaitCarries(a, VIP);
    Update u = assertInstanceOf(Update.class, r.next());
    assertEquals(List.of(Prefix.host(VIP)), u.announced());
  }

  @Test
  void aPeerChangeRestartsOnlyThatSession() throws Exception {
    BgpConfig.Peer keep = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST));
    BgpConfig.Peer change = peer("192.0.2.2", 64513, Set.of(Family.IPV4_UNICAST));
    BgpConfig.Peer added = peer("192.0.2.3", 64514, Set.of(Family.IPV4_UNICAST));
    FakeRouter rKeep = router(keep);
    FakeRouter rChange = router(change);
    FakeRouter rAdded = router(added);
    BgpAnnouncer a = announcer(config(keep, change));
    a.announce(VIP, System.nanoTime() + HOUR);
    assertInstanceOf(Update.class, rKeep.next());
    assertInstanceOf(Update.class, rChange.next());

    BgpConfig.Peer changed =
        new BgpConfig.Peer(
            change.address(),
            change.port(),
            change.peerAsn(),
            change.localAsn(),
            Duration.ofSeconds(30),
            change.keepalive(),
            change.connectRetry(),
            change.password(),
            change.sourceAddress(),
            change.ebgpMultihop(),
            change.routerId(),
            change.nodeSelector(),
            change.families());
    a.configure(config(keep, changed, added));
    // the changed peer: Cease (administrative shutdown), then a new session that gets the VIP
    Notification n = assertInstanceOf(Notification.class, rChange.next());
    assertEquals(6, n.code());
    assertInstanceOf(Update.class, rChange.next());
    assertInstanceOf(Update.class, rAdded.next());
    assertEquals(2, rChange.connections.get());
    assertEquals(1, rKeep.connections.get(), "the unchanged session was not touched");
    assertTrue(rKeep.received.isEmpty(), "nothing sent to the unchanged peer: " + rKeep.received);
  }

  @Test
  void communitiesFromTheConfigurationAndTheService() throws Exception {
    BgpConfig.Peer p = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST));
    FakeRouter r = router(p);
    BgpAnnouncer a =
        announcer(
            new BgpConfig(
                Optional.empty(),
                List.of(Community.parse("64512:100")),
                List.of(LargeCommunity.parse("4200000011:1:2")),
                List.of(p)));
    a.serviceCommunities(
        () -> Map.of(VIP, new Advertisement(VIP, List.of(Community.parse("64512:7")), List.of())));
    a.announce(VIP, System.nanoTime() + HOUR);
    PathAttributes at = assertInstanceOf(Update.class, r.next()).attributes().orElseThrow();
    assertEquals(
        List.of(Community.parse("64512:100"), Community.parse("64512:7")), at.communities());
    assertEquals(List.of(LargeCommunity.parse("4200000011:1:2")), at.largeCommunities());
    // the Service's annotation goes away: re-advertised with the defaults only
    a.serviceCommunities(Map::of);
    PathAttributes again = assertInstanceOf(Update.class, r.next()).attributes().orElseThrow();
    assertEquals(List.of(Community.parse("64512:100")), again.communities());
  }

  @Test
  void aVipWhoseFencingDeadlinePassesIsWithdrawnOnItsOwn() throws Exception {
    BgpConfig.Peer p = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST));
    FakeRouter r = router(p);
    BgpAnnouncer a = announcer(config(p));
    awaitCarries(a, VIP);
    a.announce(VIP, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300));
    assertEquals(List.of(Prefix.host(VIP)), assertInstanceOf(Update.class, r.next()).announced());
    // nobody renews nor withdraws: the deadline withdraws it
    assertEquals(List.of(Prefix.host(VIP)), assertInstanceOf(Update.class, r.next()).withdrawn());
    // an announcement whose deadline already passed is never sent
    a.announce(VIP6, System.nanoTime() - 1);
    a.withdraw(VIP6);
    assertTrue(r.received.isEmpty(), r.received.toString());
  }

  @Test
  void aPeerWithANodeSelectorWaitsForMatchingLabels() throws Exception {
    BgpConfig.Peer any = peer("192.0.2.1", 64512, Set.of(Family.IPV4_UNICAST));
    BgpConfig.Peer p =
        new BgpConfig.Peer(
            any.address(),
            any.port(),
            any.peerAsn(),
            any.localAsn(),
            any.holdTime(),
            any.keepalive(),
            any.connectRetry(),
            any.password(),
            any.sourceAddress(),
            0,
            any.routerId(),
            Map.of("rack", "a"),
            any.families());
    FakeRouter r = router(p);
    BgpAnnouncer a = announcer(config(p));
    a.nodeLabels(Map.of("rack", "b"));
    assertTrue(a.peers().isEmpty() || !a.peers().get(0).established());
    a.nodeLabels(Map.of("rack", "a"));
    awaitCarries(a, VIP);
    assertEquals(1, r.connections.get());
  }
}
