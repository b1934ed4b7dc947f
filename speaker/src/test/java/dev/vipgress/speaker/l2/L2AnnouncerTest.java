package dev.vipgress.speaker.l2;

import static dev.vipgress.speaker.l2.TestVectors.ip;
import static dev.vipgress.speaker.l2.TestVectors.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.announce.AnnouncerException;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The announcer's logic with fake interfaces and ports (no root, no network). */
class L2AnnouncerTest {
  private static final Mac MAC = Mac.parse("02:76:67:00:00:0d");
  private static final InetAddress VIP4 = ip("192.168.100.13"); // what kernel-arp-request asks
  private static final InetAddress VIP6 = ip("fd76:100::13"); // what kernel-ns asks
  private static final long SECOND = 1_000_000_000L;

  private final FakeLinks links = new FakeLinks();
  private final FakeOpener opener = new FakeOpener();
  private final AtomicLong clock = new AtomicLong(1_000 * SECOND);
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final List<L2Announcer> toClose = new ArrayList<>();

  private L2Announcer announcer(String... interfaces) {
    L2Config cfg =
        new L2Config(List.of(interfaces), 3, Duration.ofMillis(10), Duration.ofMillis(10));
    L2Announcer a = new L2Announcer(cfg, registry, links, opener, clock::get);
    toClose.add(a);
    return a;
  }

  @AfterEach
  void close() {
    toClose.forEach(L2Announcer::close);
  }

  @Test
  void startNamesAMissingInterfaceAndTheOnesThatExist() {
    links.put("eth0", true);
    AnnouncerException e = assertThrows(AnnouncerException.class, () -> announcer("eth9").start());
    assertTrue(e.getMessage().contains("eth9") && e.getMessage().contains("eth0"), e.getMessage());
  }

  @Test
  void startRefusesAnEmptyListAndANonEthernetInterface() {
    assertThrows(AnnouncerException.class, () -> announcer().start());
    links.links.put("tun0", new LinkDirectory.Link("tun0", Mac.ZERO, 65534, true));
    AnnouncerException e = assertThrows(AnnouncerException.class, () -> announcer("tun0").start());
    assertTrue(e.getMessage().contains("not an Ethernet"), e.getMessage());
  }

  @Test
  void startPassesOnTheCaptureError() {
    links.put("eth0", true);
    opener.failWith = "L2 announcer: no permission ... CAP_NET_RAW";
    AnnouncerException e = assertThrows(AnnouncerException.class, () -> announcer("eth0").start());
    assertTrue(e.getMessage().contains("CAP_NET_RAW"));
  }

  @Test
  void anInterfaceDownAtStartIsUnhealthyNotAnError() throws Exception {
    links.put("eth0", false);
    opener.failWith = "L2 announcer: cannot open eth0 for capture: That device is not up";
    L2Announcer a = announcer("eth0");
    a.start();
    assertFalse(a.healthy());
    opener.failWith = null;
    links.put("eth0", true);
    await(a::healthy);
  }

  @Test
  void globSelectsEthernetInterfacesOnly() throws Exception {
    links.put("eth0", true);
    links.put("eth1", true);
    links.links.put("ethtun", new LinkDirectory.Link("ethtun", Mac.ZERO, 776, true));
    L2Announcer a = announcer("eth*");
    a.start();
    assertEquals(List.of("eth0", "eth1"), opener.ports.keySet().stream().sorted().toList());
    assertTrue(a.healthy());
  }

  @Test
  void takeoverSendsTheConfiguredBurstOfGratuitousFrames() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    a.start();
    a.announce(VIP4, clock.get() + 10 * SECOND);
    a.announce(VIP6, clock.get() + 10 * SECOND);
    FakePort p = opener.ports.get("eth0");
    await(() -> p.sent.size() >= 6);
    List<L2Message> sent = p.decodedSent();
    assertEquals(
        3, sent.stream().filter(m -> m instanceof ArpPacket arp && arp.isGratuitous()).count());
    assertEquals(
        3,
        sent.stream()
            .filter(m -> m instanceof NeighborAdvertisement na && na.override() && !na.solicited())
            .count());
    assertEquals(6, p.sent.size());
    // renewals are not takeovers
    a.announce(VIP4, clock.get() + 20 * SECOND);
    Thread.sleep(100);
    assertEquals(6, p.sent.size());
    assertEquals(
        3.0, metric("vipgress_l2_garps_sent_total{interface=\"eth0\",vip=\"192.168.100.13\"}"));
  }

  @Test
  void aGratuitousFrameIsNeverSentAfterTheDeadlineEvenWithinOneStepOfTheBurst() throws Exception {
    links.put("eth0", true);
    links.put("eth1", true);
    L2Announcer a = announcer("eth0", "eth1");
    a.start();
    java.util.concurrent.atomic.AtomicBoolean once =
        new java.util.concurrent.atomic.AtomicBoolean();
    Runnable slowSend = // the first send blocks past the fencing deadline
        () -> {
          if (once.compareAndSet(false, true)) {
            clock.addAndGet(2 * SECOND);
          }
        };
    FakePort p0 = opener.ports.get("eth0");
    FakePort p1 = opener.ports.get("eth1");
    p0.onSend = slowSend;
    p1.onSend = slowSend;
    a.announce(VIP4, clock.get() + SECOND);
    await(once::get);
    a.announce(VIP6, clock.get() + 10 * SECOND); // queued behind the first burst step
    await(() -> countNa(p0) > 0 && countNa(p1) > 0);
    assertEquals(
        1,
        countArp(p0) + countArp(p1),
        p0.sent.size() + " " + p1.sent.size() + " only the frame sent before the deadline");
  }

  private static long countArp(FakePort p) {
    return count(p, ArpPacket.class);
  }

  private static long countNa(FakePort p) {
    return count(p, NeighborAdvertisement.class);
  }

  private static long count(FakePort p, Class<? extends L2Message> kind) {
    try {
      return p.decodedSent().stream().filter(kind::isInstance).count();
    } catch (MalformedFrameException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void joinsTheSolicitedNodeGroupWhileAnnouncing() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    a.start();
    a.announce(VIP6, clock.get() + 10 * SECOND);
    FakePort p = opener.ports.get("eth0");
    Inet6Address group = L2Constants.solicitedNode((Inet6Address) VIP6);
    await(() -> p.groups.contains(group));
    a.withdraw(VIP6);
    await(() -> !p.groups.contains(group));
  }

  @Test
  void answersOnlyWhileOwnedAndBeforeTheDeadline() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    a.start();
    FakePort p = opener.ports.get("eth0");
    long deadline = clock.get() + 5 * SECOND;
    a.announce(VIP4, deadline);
    await(() -> p.sent.size() >= 3);
    int before = p.sent.size();

    p.deliver(load("kernel-arp-request"));
    assertEquals(before + 1, p.sent.size());
    ArpPacket reply = (ArpPacket) FrameDecoder.decode(p.sent.getLast()).orElseThrow();
    assertEquals(ArpPacket.REPLY, reply.operation());
    assertEquals(MAC, reply.senderMac());

    clock.set(deadline); // the JVM "thaws" at its deadline: queued requests stay unanswered
    p.deliver(load("kernel-arp-request"));
    p.deliver(load("kernel-arp-request"));
    assertEquals(before + 1, p.sent.size());
    assertEquals(
        1.0,
        metric("vipgress_l2_requests_answered_total{interface=\"eth0\",vip=\"192.168.100.13\"}"));
    assertEquals(
        2.0,
        metric("vipgress_l2_requests_refused_total{interface=\"eth0\",vip=\"192.168.100.13\"}"));

    a.announce(VIP4, clock.get() + 5 * SECOND); // a new term: takes over again, with a burst
    await(() -> p.sent.size() >= before + 1 + 3);
    p.deliver(load("kernel-arp-request"));
    assertInstanceOf(ArpPacket.class, FrameDecoder.decode(p.sent.getLast()).orElseThrow());
  }

  @Test
  void withdrawStopsAnswersAtOnce() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    a.start();
    FakePort p = opener.ports.get("eth0");
    a.announce(VIP6, clock.get() + 5 * SECOND);
    p.deliver(load("kernel-ns"));
    int n = p.sent.size();
    assertTrue(
        p.decodedSent().stream()
            .anyMatch(m -> m instanceof NeighborAdvertisement na && na.solicited()));
    a.withdraw(VIP6);
    p.deliver(load("kernel-ns"));
    Thread.sleep(50);
    int after = p.sent.size();
    // only burst frames (none after withdraw) may have been added, never another answer
    assertTrue(
        p.decodedSent().subList(n, after).stream()
            .noneMatch(m -> m instanceof NeighborAdvertisement na && na.solicited()));
  }

  @Test
  void aWithdrawnVipStopsItsBurst() throws Exception {
    links.put("eth0", true);
    L2Config cfg = new L2Config(List.of("eth0"), 10, Duration.ofMillis(50), Duration.ofMillis(10));
    L2Announcer a = new L2Announcer(cfg, registry, links, opener, clock::get);
    toClose.add(a);
    a.start();
    a.announce(VIP4, clock.get() + 5 * SECOND);
    FakePort p = opener.ports.get("eth0");
    await(() -> p.sent.size() >= 1);
    a.withdraw(VIP4);
    int n = p.sent.size();
    Thread.sleep(200);
    assertTrue(p.sent.size() <= n + 1, "at most a step already running");
  }

  @Test
  void interfaceDownFlipsHealthAndUpRepeatsTheBurst() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    AtomicInteger flips = new AtomicInteger();
    a.onHealthChange(flips::incrementAndGet);
    a.start();
    assertTrue(a.healthy());
    assertEquals(1, flips.get()); // false before start -> true
    a.announce(VIP4, clock.get() + 60 * SECOND);
    FakePort p = opener.ports.get("eth0");
    await(() -> p.sent.size() >= 3);

    links.put("eth0", false);
    await(() -> !a.healthy());
    // the callback runs on the announcer's thread just after healthy() flips: wait for it
    await(() -> flips.get() == 2);
    assertEquals(2, flips.get());
    assertEquals(0.0, metric("vipgress_l2_interface_up{interface=\"eth0\"}"));

    links.put("eth0", true);
    await(a::healthy);
    await(() -> flips.get() == 3);
    assertEquals(3, flips.get());
    await(() -> p.sent.size() >= 6);
    assertEquals(
        6.0, metric("vipgress_l2_garps_sent_total{interface=\"eth0\",vip=\"192.168.100.13\"}"));
  }

  @Test
  void aFailedCaptureIsUnhealthyAndIsReopened() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    a.start();
    FakePort first = opener.ports.get("eth0");
    opener.failWith = "L2 announcer: cannot open eth0 for capture: boom";
    first.fail();
    await(() -> !a.healthy());
    opener.failWith = null;
    await(a::healthy); // after the back-off
    assertTrue(opener.ports.get("eth0") != first);
  }

  @Test
  void aDeletedInterfaceIsUnhealthyAndARecreatedOneIsUsedAgain() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    a.start();
    a.announce(VIP4, clock.get() + 60 * SECOND);
    links.links.remove("eth0");
    opener.ports.get("eth0").fail();
    await(() -> !a.healthy());
    links.put("eth0", true);
    await(a::healthy);
    FakePort again = opener.ports.get("eth0");
    await(() -> again.sent.size() >= 3); // the burst is repeated on the new interface
  }

  @Test
  void announceValidatesAndRequiresStart() throws Exception {
    links.put("eth0", true);
    L2Announcer a = announcer("eth0");
    assertThrows(IllegalStateException.class, () -> a.announce(VIP4, 0));
    a.start();
    assertThrows(IllegalArgumentException.class, () -> a.announce(ip("224.0.0.1"), clock.get()));
    assertThrows(IllegalArgumentException.class, () -> a.announce(ip("0.0.0.0"), clock.get()));
    a.close();
    assertFalse(a.healthy());
    assertTrue(opener.ports.get("eth0").closed);
    assertThrows(IllegalStateException.class, () -> a.announce(VIP4, 0));
  }

  @Test
  void configValidates() {
    assertThrows(IllegalArgumentException.class, () -> L2Config.defaults(List.of("eth 0")));
    L2Config d = L2Config.defaults(List.of("eth0"));
    assertEquals(3, d.garpCount());
    assertEquals(Duration.ofMillis(200), d.garpInterval());
    assertThrows(IllegalArgumentException.class, () -> d.withGarp(0, Duration.ofMillis(200)));
    assertThrows(IllegalArgumentException.class, () -> d.withGarp(3, Duration.ZERO));
    assertEquals(Optional.empty(), L2Config.interfaceHolding(ip("203.0.113.77")));
  }

  @Test
  void gratuitousFrameIsPerFamily() throws Exception {
    assertInstanceOf(
        ArpPacket.class,
        FrameDecoder.decode(L2Announcer.gratuitous(MAC, (Inet4Address) VIP4)).orElseThrow());
    assertInstanceOf(
        NeighborAdvertisement.class,
        FrameDecoder.decode(L2Announcer.gratuitous(MAC, VIP6)).orElseThrow());
  }

  // ---- helpers ----

  private double metric(String series) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, registry.scrape());
    for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1));
      }
    }
    return 0.0;
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + 5 * SECOND;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0) {
        throw new AssertionError("condition not met within 5 s");
      }
      Thread.sleep(5);
    }
  }

  static final class FakeLinks implements LinkDirectory {
    final Map<String, Link> links = new ConcurrentHashMap<>();

    void put(String name, boolean up) {
      links.put(name, new Link(name, MAC, Link.ARPHRD_ETHER, up));
    }

    @Override
    public List<String> names() {
      return links.keySet().stream().sorted().toList();
    }

    @Override
    public Optional<Link> link(String name) {
      return Optional.ofNullable(links.get(name));
    }
  }

  static final class FakeOpener implements FramePort.Opener {
    final Map<String, FakePort> ports = new ConcurrentHashMap<>();
    volatile String failWith;

    @Override
    public void checkLibrary() {}

    @Override
    public FramePort open(String iface, Consumer<byte[]> receiver, Runnable onFailure)
        throws AnnouncerException {
      if (failWith != null) {
        throw new AnnouncerException(failWith);
      }
      FakePort p = new FakePort(receiver, onFailure);
      ports.put(iface, p);
      return p;
    }
  }

  static final class FakePort implements FramePort {
    final List<byte[]> sent = new CopyOnWriteArrayList<>();
    final List<Inet6Address> groups = new CopyOnWriteArrayList<>();
    final Consumer<byte[]> receiver;
    final Runnable onFailure;
    volatile boolean closed;
    volatile boolean failed;
    volatile Runnable onSend = () -> {};

    FakePort(Consumer<byte[]> receiver, Runnable onFailure) {
      this.receiver = receiver;
      this.onFailure = onFailure;
    }

    /** A frame arrives (on the test thread standing in for the receive thread). */
    void deliver(byte[] frame) {
      receiver.accept(frame);
    }

    void fail() {
      failed = true;
      onFailure.run();
    }

    List<L2Message> decodedSent() throws MalformedFrameException {
      List<L2Message> out = new ArrayList<>();
      for (byte[] f : sent) {
        out.add(FrameDecoder.decode(f).orElseThrow());
      }
      return out;
    }

    @Override
    public void send(byte[] frame) throws IOException {
      if (closed || failed) {
        throw new IOException("closed");
      }
      sent.add(frame);
      onSend.run();
    }

    @Override
    public boolean isOpen() {
      return !closed && !failed;
    }

    @Override
    public boolean joinGroup(Inet6Address group) {
      groups.add(group);
      return true;
    }

    @Override
    public void leaveGroup(Inet6Address group) {
      groups.remove(group);
    }

    @Override
    public void close() {
      closed = true;
    }
  }
}
