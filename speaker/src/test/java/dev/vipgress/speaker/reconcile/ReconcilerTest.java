package dev.vipgress.speaker.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.ElectionListener.LossReason;
import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.OwnedVip;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.config.ConfigLoader;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EndpointInfo;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.ServiceInfo;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The ownership transition's order and the reconciler's reactions, against fakes. */
class ReconcilerTest {
  static final String VIP = "192.168.100.200";
  static final ServiceKey WEB = new ServiceKey("default", "web");

  final List<String> log = Collections.synchronizedList(new ArrayList<>());
  final AtomicReference<ClusterView> view = new AtomicReference<>(view(true));
  final List<Set<String>> candidacy = Collections.synchronizedList(new ArrayList<>());
  final List<String> events = Collections.synchronizedList(new ArrayList<>());
  final List<NodeDesired> applied = Collections.synchronizedList(new ArrayList<>());
  Runnable electionClose = () -> {};
  boolean failApply;
  final Set<String> refuseSteering = new java.util.HashSet<>();
  final List<NodeDesired> refreshed = new ArrayList<>();
  Reconciler r;

  static ClusterView view(boolean egress) {
    Map<String, String> labels =
        egress
            ? Map.of(Labels.ANNOUNCE, "l2", Labels.EGRESS, "true")
            : Map.of(Labels.ANNOUNCE, "l2");
    ServiceInfo web = new ServiceInfo(WEB, "LoadBalancer", labels, List.of(VIP));
    ServiceInfo bad =
        new ServiceInfo(
            new ServiceKey("default", "bad"),
            "LoadBalancer",
            Map.of(Labels.ANNOUNCE, "l2"),
            List.of("nope"));
    return new ClusterView(
        Map.of(WEB, web, bad.key(), bad),
        Map.of(
            WEB,
            List.of(
                new EndpointInfo("10.244.1.2", "node1"), new EndpointInfo("10.244.2.2", "node2"))),
        Map.of(
            "node1", new NodeInfo("node1", List.of("192.168.100.11"), true, Map.of()),
            "node2", new NodeInfo("node2", List.of("192.168.100.12"), true, Map.of())));
  }

  final ManualLoop loop = new ManualLoop();

  @BeforeEach
  void start() {
    r = build(SteeringPolicy.direct());
    r.start();
    loop.run();
  }

  Reconciler build(SteeringPolicy steering) {
    Datapath dp =
        new Datapath() {
          @Override
          public ApplyResult apply(NodeDesired d) {
            if (failApply) {
              throw new IllegalStateException("refused");
            }
            applied.add(d);
            log.add("apply owned=" + owned(d) + " steered=" + steered(d));
            List<ApplyResult.Refused> r = new ArrayList<>();
            d.steering().keySet().stream()
                .filter(p -> refuseSteering.contains(p.getHostAddress()))
                .forEach(p -> r.add(new ApplyResult.Refused("steer " + p.getHostAddress(), "no")));
            return new ApplyResult(r);
          }

          @Override
          public void refresh(NodeDesired d) {
            refreshed.add(d);
            log.add("refresh " + d.owned().stream().map(OwnedVip::deadlineNanos).toList());
          }

          @Override
          public void close(boolean handingOver) {
            log.add("natClose handingOver=" + handingOver);
          }
        };
    Announcer ann =
        new Announcer() {
          @Override
          public void start() {}

          @Override
          public void announce(InetAddress vip, long deadline) {
            log.add("announce " + vip.getHostAddress());
          }

          @Override
          public void withdraw(InetAddress vip) {
            log.add("withdraw " + vip.getHostAddress());
          }

          @Override
          public boolean healthy() {
            return true;
          }

          @Override
          public void onHealthChange(Runnable callback) {}

          @Override
          public void close() {}
        };
    Candidacy c =
        new Candidacy() {
          @Override
          public void setCandidacy(Set<String> vips) {
            candidacy.add(vips);
          }

          @Override
          public void setHealthy(boolean healthy) {}

          @Override
          public void close() {
            log.add("electionClose");
            electionClose.run();
          }
        };
    ClusterSource src =
        new ClusterSource() {
          @Override
          public boolean synced() {
            return true;
          }

          @Override
          public ClusterView view() {
            return view.get();
          }

          @Override
          public void onChange(Runnable callback) {}
        };
    Reporter rep =
        new Reporter() {
          @Override
          public void event(ServiceKey svc, boolean warning, String reason, String message) {
            events.add(svc.name() + " " + reason);
          }

          @Override
          public void annotateOwner(ServiceKey svc) {
            events.add(svc.name() + " annotated");
          }

          @Override
          public void forget(ServiceKey svc) {
            events.add(svc.name() + " forgotten");
          }

          @Override
          public void disownOwner(ServiceKey svc) {
            events.add(svc.name() + " disowned");
          }
        };
    return new Reconciler(
        "node1",
        ConfigLoader::defaults,
        steering,
        new Reconciler.Wiring(
            loop,
            src,
            c,
            dp,
            Map.of(Mode.L2, ann),
            rep,
            new SpeakerMetrics(new PrometheusRegistry())));
  }

  @AfterEach
  void stop() {
    r.close();
  }

  static String owned(NodeDesired d) {
    return d.owned().stream()
        .map(o -> o.vip().getHostAddress())
        .collect(Collectors.toCollection(TreeSet::new))
        .toString();
  }

  static String steered(NodeDesired d) {
    return d.steering().keySet().stream()
        .map(InetAddress::getHostAddress)
        .collect(Collectors.toCollection(TreeSet::new))
        .toString();
  }

  long future() {
    return loop.nanoTime() + 5_000_000_000L;
  }

  @Test
  void aNodeOnAnotherSegmentDoesNotCompeteForTheVip() throws Exception {
    r.close();
    candidacy.clear();
    events.clear();
    // node1's announcing interface is on 192.168.101.0/24; the VIP is on 192.168.100.0/24
    r =
        build(
            new SteeringPolicy(SteeringPolicy.Mode.AUTO, List.of(Cidr.parse("192.168.101.11/24"))));
    r.start();
    loop.run();
    assertEquals(Set.of(), candidacy.get(candidacy.size() - 1));
    assertTrue(events.contains("web NotOnSegment"), events.toString());

    r.close();
    candidacy.clear();
    r =
        build(
            new SteeringPolicy(SteeringPolicy.Mode.AUTO, List.of(Cidr.parse("192.168.100.11/24"))));
    r.start();
    loop.run();
    assertEquals(Set.of(VIP), candidacy.get(candidacy.size() - 1), "on its segment it competes");
  }

  @Test
  void competesForValidVipsAndReportsBadServices() {
    assertEquals(Set.of(VIP), candidacy.get(candidacy.size() - 1));
    assertTrue(events.contains("bad InvalidVip"), events.toString());
  }

  @Test
  void nonOwnerSteersItsLocalBackendToTheOwner() throws Exception {
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    NodeDesired d = applied.get(applied.size() - 1);
    assertEquals("[10.244.1.2]", steered(d));
    assertEquals(
        "192.168.100.12",
        d.steering().get(InetAddress.getByName("10.244.1.2")).ownerNextHop().getHostAddress());
    assertTrue(d.owned().isEmpty());
  }

  @Test
  void takeoverInstallsSnatThenAnnouncesThenStopsSteering() throws Exception {
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    log.clear();
    r.acquired(VIP, future());
    r.ownerChanged(VIP, Optional.of("node1"));
    loop.run();
    assertEquals(
        List.of(
            "apply owned=[" + VIP + "] steered=[10.244.1.2]",
            "announce " + VIP,
            "apply owned=[" + VIP + "] steered=[]"),
        log.subList(0, 3));
    assertTrue(events.contains("web VipAnnounced"), events.toString());
    assertTrue(events.contains("web EgressReady"), events.toString());
    assertTrue(events.contains("web annotated"), events.toString());
    var st = r.status().get(0);
    assertTrue(st.ownedHere());
    assertEquals("snat", st.egressState());
  }

  @Test
  void aServiceJoiningAnOwnedVipIsAnnotatedToo() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    ClusterView v = view(true);
    var services = new java.util.HashMap<>(v.services());
    ServiceKey shared = new ServiceKey("default", "shared");
    services.put(
        shared,
        new ServiceInfo(shared, "LoadBalancer", Map.of(Labels.ANNOUNCE, "l2"), List.of(VIP)));
    view.set(new ClusterView(services, v.endpoints(), v.nodes()));
    r.trigger();
    loop.run();
    loop.run();
    assertTrue(events.contains("shared annotated"), events.toString());
    assertTrue(events.contains("shared VipAnnounced"), events.toString());
    assertEquals(1, events.stream().filter("web annotated"::equals).count(), events.toString());
  }

  @Test
  void aServiceNoLongerAnnouncedLosesItsOwnerAnnotation() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    assertTrue(events.contains("web annotated"), events.toString());
    ClusterView v = view(true);
    var services = new java.util.HashMap<>(v.services());
    services.put(WEB, new ServiceInfo(WEB, "LoadBalancer", Map.of(), List.of(VIP)));
    view.set(new ClusterView(services, v.endpoints(), v.nodes()));
    r.trigger();
    loop.run();
    loop.run();
    assertEquals(1, events.stream().filter("web disowned"::equals).count(), events.toString());
  }

  @Test
  void aHandoffLeavesTheOwnerAnnotationToTheNewOwner() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    r.lost(VIP);
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    loop.run();
    assertFalse(events.contains("web disowned"), events.toString());
  }

  @Test
  void releaseWithdrawsBeforeTheDatapathLetsGo() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    r.lost(VIP);
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    // withdraw first, then one transaction removes the SNAT (and steers, once the owner is known)
    assertEquals("withdraw " + VIP, log.get(0));
    assertTrue(log.get(1).startsWith("apply owned=[] "), log.toString());
    assertEquals("apply owned=[] steered=[10.244.1.2]", log.get(log.size() - 1));
    assertTrue(events.contains("web VipWithdrawn"), events.toString());
  }

  @Test
  void renewalsReArmTheDatapathWithTheNewDeadline() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    long next = future() + 1;
    r.renewedAll(Set.of(VIP), next);
    loop.run();
    loop.run();
    assertTrue(log.contains("refresh [" + next + "]"), log.toString());
  }

  @Test
  void aLateRenewalDoesNotFlapTheTakeover() throws Exception {
    long soon = loop.nanoTime() + 50_000_000L;
    r.acquired(VIP, soon);
    loop.run();
    loop.advance(Duration.ofMillis(100));
    r.trigger(); // a reconcile after the deadline: the datapath fences itself, nothing flaps
    loop.run();
    loop.run();
    assertFalse(log.contains("withdraw " + VIP), log.toString());
    log.clear();
    long next = future();
    r.renewedAll(Set.of(VIP), next); // the elector renewed: the datapath is re-armed
    loop.run();
    loop.run();
    assertTrue(log.contains("refresh [" + next + "]"), log.toString());
    assertFalse(log.contains("withdraw " + VIP), log.toString());
  }

  @Test
  void aVipLostToALateRenewalIsResumedWithoutATakeoverWhenTheElectorGivesItBack() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    events.clear();
    r.lost(VIP, LossReason.DEADLINE);
    r.ownerChanged(VIP, Optional.empty());
    loop.run();
    assertFalse(log.contains("withdraw " + VIP), log.toString());
    long next = future() + 7;
    r.acquired(VIP, next);
    loop.run();
    loop.run();
    assertFalse(log.contains("withdraw " + VIP), log.toString());
    assertTrue(log.contains("announce " + VIP), "the announcer is re-armed: " + log);
    NodeDesired d = applied.get(applied.size() - 1);
    assertEquals(next, d.owned().iterator().next().deadlineNanos(), "re-armed");
    assertFalse(events.contains("web VipWithdrawn"), events.toString());
    assertFalse(events.contains("web VipAnnounced"), events.toString());
  }

  @Test
  void aSuspendedVipIsReleasedOnceAnotherNodeOwnsIt() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    r.lost(VIP, LossReason.DEADLINE);
    loop.run();
    assertFalse(log.contains("withdraw " + VIP), log.toString());
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    loop.run();
    assertTrue(log.contains("withdraw " + VIP), log.toString());
    assertEquals("apply owned=[] steered=[10.244.1.2]", log.get(log.size() - 1));
  }

  @Test
  void otherLossesReleaseAtOnce() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    r.lost(VIP, LossReason.UNHEALTHY);
    loop.run();
    assertEquals("withdraw " + VIP, log.get(0), log.toString());
  }

  @Test
  void theDeadlineGoesToTheDatapathAndTheAnnouncerWhichFenceThemselves() throws Exception {
    long past = loop.nanoTime() - 1;
    r.acquired(VIP, past);
    loop.run();
    NodeDesired d = applied.get(applied.size() - 1);
    assertEquals(past, d.owned().iterator().next().deadlineNanos());
  }

  @Test
  void removingTheEgressLabelRemovesTheSnatButKeepsTheAnnouncement() throws Exception {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    view.set(view(false));
    r.trigger();
    loop.run();
    loop.run();
    assertEquals("apply owned=[] steered=[]", log.get(log.size() - 1));
    assertFalse(log.contains("withdraw " + VIP), log.toString());
  }

  @Test
  void shutdownHandsOverThroughTheElectionAndKeepsTheFailClosedKernelState() {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    // the elector's close(): lostAll(SHUTDOWN), and the release is written once that completed
    electionClose =
        () -> {
          var done = r.lostAll(Set.of(VIP), LossReason.SHUTDOWN);
          done.thenRun(() -> log.add("releaseWritten"));
          loop.run(); // the elector waits; the reconciler's loop goes on
        };
    r.close();
    assertEquals(
        List.of(
            "electionClose",
            "withdraw " + VIP,
            "apply owned=[] steered=[]", // no live owner known: not steered to itself
            "releaseWritten",
            "natClose handingOver=true"),
        log);
  }

  /**
   * Found by the simulator ({@code make sim SEED=11} before the fix): the elector's close()
   * returned before the reconcile loop ran its lostAll, the close then completed the barrier
   * because it was closed, and the kernel kept SNATing the VIP (close(true) keeps state) while a
   * peer took it.
   */
  @Test
  void shutdownRemovesTheSnatBeforeAnyReleaseEvenWhenTheLossArrivesLate() {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    electionClose =
        () -> {
          var done = r.lostAll(Set.of(VIP), LossReason.SHUTDOWN);
          done.thenRun(() -> log.add("releaseWritten"));
          // the elector does not wait here: the loop has not run the loss yet
        };
    r.close();
    loop.run();
    int snatGone = log.indexOf("apply owned=[] steered=[]");
    assertTrue(snatGone >= 0, "the owned VIP's SNAT was never removed: " + log);
    assertTrue(snatGone < log.indexOf("releaseWritten"), log.toString());
  }

  @Test
  void lostAllCompletesOnlyOnceWithdrawnAndNoLongerSnated() {
    r.acquired(VIP, future());
    loop.run();
    log.clear();
    var done = r.lostAll(Set.of(VIP), LossReason.CANDIDACY).toCompletableFuture();
    assertFalse(done.isDone(), "nothing has been withdrawn yet");
    failApply = true;
    loop.run();
    assertEquals("withdraw " + VIP, log.get(0), log.toString());
    assertFalse(done.isDone(), "still SNATed: the datapath refused the release");
    failApply = false;
    loop.advance(Duration.ofMillis(200)); // the retry
    assertTrue(done.isDone(), log.toString());
    assertEquals("apply owned=[] steered=[]", log.get(log.size() - 1));
  }

  @Test
  void lostAllCompletesAtTheFencingDeadlineEvenIfTheDatapathKeepsRefusing() {
    r.acquired(VIP, loop.nanoTime() + 1_000_000_000L);
    loop.run();
    failApply = true;
    var done = r.lostAll(Set.of(VIP), LossReason.CANDIDACY).toCompletableFuture();
    loop.advance(Duration.ofMillis(900));
    assertFalse(done.isDone());
    loop.advance(Duration.ofMillis(100)); // the kernel state and the announcer fenced themselves
    assertTrue(done.isDone());
  }

  @Test
  void aBatchOfAcquisitionsAndLossesIsOneReconcile() throws Exception {
    List<String> vips = new ArrayList<>();
    Map<ServiceKey, ServiceInfo> services = new java.util.HashMap<>();
    for (int i = 1; i <= 200; i++) {
      String vip = "192.168.100." + i;
      vips.add(vip);
      ServiceKey k = new ServiceKey("default", "s" + i);
      services.put(
          k,
          new ServiceInfo(
              k,
              "LoadBalancer",
              Map.of(Labels.ANNOUNCE, "l2", Labels.EGRESS, "true"),
              List.of(vip)));
    }
    view.set(new ClusterView(services, Map.of(), view(true).nodes()));
    r.trigger();
    loop.run();
    applied.clear();
    for (String v : vips) {
      r.acquired(v, future());
      r.ownerChanged(v, Optional.of("node1"));
    }
    loop.run();
    assertTrue(applied.size() <= 2, "SNAT first, then the final state: " + applied.size());
    assertEquals(200, applied.get(applied.size() - 1).owned().size());
    applied.clear();
    var done = r.lostAll(Set.copyOf(vips), LossReason.UNHEALTHY).toCompletableFuture();
    loop.run();
    assertEquals(1, applied.size());
    assertTrue(applied.get(0).owned().isEmpty());
    assertTrue(done.isDone());
  }

  @Test
  void anAcquireAndALossBeforeTheLoopCatchesUpLeaveTheNodeNotOwningTheVip() throws Exception {
    // The elector's event thread runs ahead of the reconcile loop: every event is ordered.
    r.acquired(VIP, future());
    r.ownerChanged(VIP, Optional.of("node1"));
    r.lost(VIP, LossReason.TAKEN);
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    NodeDesired d = applied.get(applied.size() - 1);
    assertTrue(d.owned().isEmpty(), owned(d));
    assertEquals(
        "192.168.100.12",
        d.steering().get(InetAddress.getByName("10.244.1.2")).ownerNextHop().getHostAddress(),
        "steered to the new owner, not to itself");
    assertEquals("node2", r.status().get(0).owner());
    assertFalse(r.status().get(0).ownedHere());
  }

  @Test
  void everyTransactionKeepsTheLocalBackendsFailClosed() throws Exception {
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    r.acquired(VIP, future());
    r.ownerChanged(VIP, Optional.of("node1"));
    loop.run();
    r.renewedAll(Set.of(VIP), future() + 1);
    loop.run();
    Set<InetAddress> local = Set.of(InetAddress.getByName("10.244.1.2"));
    assertTrue(applied.size() >= 3, applied.toString());
    for (NodeDesired d : applied) {
      assertEquals(local, d.egressBackends().keySet(), "the SNAT step too: " + d);
    }
    assertEquals(1, refreshed.size());
    assertEquals(local, refreshed.get(0).egressBackends().keySet());
  }

  @Test
  void aRefusedElementIsRetriedOnItsOwnUntilTheKernelTakesIt() {
    refuseSteering.add("10.244.1.2");
    r.ownerChanged(VIP, Optional.of("node2"));
    loop.run();
    int n = applied.size();
    assertEquals("[10.244.1.2]", steered(applied.get(n - 1)));
    loop.advance(Duration.ofMillis(200)); // the retry applies the same state again
    assertEquals(n + 1, applied.size());
    loop.advance(Duration.ofMillis(400));
    assertEquals(n + 2, applied.size(), "backing off");
    refuseSteering.clear();
    loop.advance(Duration.ofMillis(800));
    assertEquals(n + 3, applied.size());
    loop.advance(Duration.ofSeconds(30)); // accepted: nothing more to retry
    assertEquals(n + 3, applied.size(), log.toString());
  }

  @Test
  void invalidServicesBesideAGoodOneLeaveItsEgressAsItWas() {
    r.acquired(VIP, future());
    r.ownerChanged(VIP, Optional.of("node1"));
    loop.run();
    NodeDesired before = applied.get(applied.size() - 1);
    int n = applied.size();
    ClusterView v = view(true);
    var services = new java.util.HashMap<>(v.services());
    String[][] bad = {
      {"l2", "not-an-ip"},
      {"l2", "127.0.0.1"},
      {"l2", "10.244.9.9"},
      {"sctp", "192.168.100.201"},
      {"bgp", "192.168.100.202"},
      {"l2", "ff02::1"},
      {"l2", ""}
    };
    for (int i = 0; i < bad.length; i++) {
      ServiceKey k = new ServiceKey("default", "bad" + i);
      services.put(
          k,
          new ServiceInfo(
              k,
              "LoadBalancer",
              Map.of(Labels.ANNOUNCE, bad[i][0], Labels.EGRESS, "true"),
              bad[i][1].isEmpty() ? List.of() : List.of(bad[i][1])));
    }
    ServiceKey noAnnounce = new ServiceKey("default", "egress-only");
    services.put(
        noAnnounce,
        new ServiceInfo(noAnnounce, "LoadBalancer", Map.of(Labels.EGRESS, "true"), List.of(VIP)));
    view.set(new ClusterView(services, v.endpoints(), v.nodes()));
    r.trigger();
    loop.advance(Duration.ofSeconds(5));
    assertEquals(n, applied.size(), "nothing re-applied, nothing retried: " + log);
    assertEquals(before, applied.get(applied.size() - 1));
    assertTrue(events.contains("bad0 InvalidVip"), events.toString());
    assertTrue(events.contains("egress-only EgressWithoutAnnounce"), events.toString());
  }
}
