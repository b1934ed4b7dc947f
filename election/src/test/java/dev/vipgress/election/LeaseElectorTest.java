package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The elector against a fake API server on a manual clock: timing, placement, handover. */
class LeaseElectorTest {
  private static final long MS = 1_000_000L;
  private FakeCluster cluster;

  private FakeCluster cluster(long seed) {
    cluster = new FakeCluster(seed);
    return cluster;
  }

  @AfterEach
  void noDualOwners() {
    if (cluster != null) {
      assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
    }
  }

  @Test
  void singleNodeTakesEveryVipAfterTheStartupGrace() {
    FakeCluster c = cluster(1);
    Set<String> vips = Set.of("192.168.100.200", "fd76:100::200");
    Member a = c.start("node1", vips);
    c.sched.advanceMillis(500);
    assertTrue(a.listener.owned.isEmpty(), "no VIP before the startup grace");
    c.sched.advanceMillis(1000);
    assertEquals(vips, a.listener.ownedNow());
    assertEquals(Map.of("192.168.100.200", "node1", "fd76:100::200", "node1"), a.elector.owners());
    assertEquals("node1", Leases.holder(c.server.lease("vip-192-168-100-200")));
    assertEquals("node1", Leases.holder(c.server.lease("vip-fd76-100--200")));
    assertEquals(
        "vipgress",
        c.server.lease("vip-fd76-100--200").getMetadata().getLabels().get(Leases.MANAGED_BY));
    assertEquals("node1", Leases.holder(c.server.lease("node-node1")));
  }

  @Test
  void fencingDeadlineCountsFromWhenTheRenewalWasSent() {
    FakeCluster c = cluster(1);
    c.server.latencyMillis = 7;
    Member a = c.start("node1", Set.of("10.0.0.1"));
    c.sched.advance(Duration.ofSeconds(3));
    // the renewal answer arrives 7 ms after it was sent: the deadline is sent + 1000 - 100 ms
    long before = c.sched.nanoTime();
    long[] seen = new long[2];
    c.sched.advanceUntil(
        () -> {
          long d = a.elector.fencingDeadlineNanos("10.0.0.1").orElseThrow();
          if (seen[0] == 0) {
            seen[0] = d;
            return false;
          }
          if (d != seen[0]) {
            seen[1] = c.sched.nanoTime();
            seen[0] = d;
            return true;
          }
          return false;
        },
        Duration.ofSeconds(2));
    assertTrue(seen[1] > before);
    assertEquals(900 * MS - 7 * MS, seen[0] - seen[1]);
    assertEquals(seen[0], a.listener.owned.get("10.0.0.1"));
    assertTrue(a.elector.fencingDeadlineNanos("10.0.0.2").isEmpty());
    assertTrue(
        a.elector.fencingDeadlineNanos("10.000.0.1").isEmpty(), "invalid literal: not owned");
  }

  @Test
  void coldStartOwnsEveryVipWithOneGenesisWriteAndMaterialisesTheLeasesLater() {
    FakeCluster c = cluster(41);
    c.server.latencyMillis = 5;
    Set<String> vips = FakeCluster.vips(300);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advanceUntil(() -> c.ownership().size() == 300, Duration.ofSeconds(5));
    // every VIP has its owner while most VIP Leases do not exist yet: the genesis Lease gave them
    long vipLeases = c.server.all().stream().filter(Leases::isVipLease).count();
    assertTrue(vipLeases < 150, "VIP Leases when all were owned: " + vipLeases);
    assertNotNull(c.server.lease(Genesis.NAME));
    for (int n : c.counts().values()) {
      assertTrue(n > 70 && n < 130, c.counts()::toString);
    }
    Map<String, String> owners = c.ownership();
    c.sched.advance(Duration.ofSeconds(20));
    assertEquals(owners, c.ownership(), "materialising the Leases moved no VIP");
    assertNull(c.server.lease(Genesis.NAME), "deleted once every VIP had its Lease");
    for (Map.Entry<String, String> e : owners.entrySet()) {
      V1Lease l = c.server.lease(VipAddress.parse(e.getKey()).leaseName());
      assertNotNull(l, e.getKey());
      assertEquals(e.getValue(), Leases.holder(l), e.getKey());
    }
    for (Member m : c.members.values()) {
      assertEquals(owners, m.elector.owners(), m.node + "'s view");
      assertEquals(0, m.listener.count("lost", null), m.node);
    }
  }

  @Test
  void genesisMemberThatDiesBeforeMaterialisingPassesItsVipsToTheOthers() {
    FakeCluster c = cluster(42);
    c.server.latencyMillis = 20; // slow writes: node1 dies with most of its VIPs still virtual
    Set<String> vips = FakeCluster.vips(200);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advanceUntil(() -> c.ownership().size() == 200, Duration.ofSeconds(5));
    Map<String, String> before = c.ownership();
    c.kill("node1");
    c.sched.advance(Duration.ofSeconds(3));
    Map<String, String> after = c.ownership();
    assertEquals(200, after.size());
    for (Map.Entry<String, String> e : before.entrySet()) {
      if (!e.getValue().equals("node1")) {
        assertEquals(e.getValue(), after.get(e.getKey()), "only node1's VIPs move");
      } else {
        assertNotEquals("node1", after.get(e.getKey()));
      }
    }
    c.sched.advance(Duration.ofSeconds(20));
    assertNull(c.server.lease(Genesis.NAME));
    assertEquals(after, c.ownership());
  }

  @Test
  void aVipNobodyWantsAnyMoreDoesNotKeepTheGenesisLeaseForever() {
    FakeCluster c = cluster(43);
    Set<String> vips = FakeCluster.vips(20);
    Member a = c.start("node1", vips);
    c.sched.advanceUntil(() -> c.ownership().size() == 20, Duration.ofSeconds(5));
    String gone = vips.iterator().next();
    Set<String> fewer = new HashSet<>(vips);
    fewer.remove(gone);
    a.elector.setCandidacy(fewer);
    c.sched.advance(Duration.ofSeconds(15));
    assertNull(c.server.lease(Genesis.NAME));
    assertEquals(fewer, a.listener.ownedNow());
    assertEquals("", Leases.holder(c.server.lease(VipAddress.parse(gone).leaseName())));
  }

  @Test
  void theLivenessLeaseOfANodeGoneForGoodIsDeletedOnceNothingReferencesIt() {
    ElectionConfig cfg =
        ElectionConfig.builder("vipgress").releasedLeaseGc(Duration.ofSeconds(5)).build();
    cluster = new FakeCluster(cfg, 44);
    FakeCluster c = cluster;
    c.server.latencyMillis = 3;
    Set<String> vips = FakeCluster.vips(60);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advanceUntil(() -> c.ownership().size() == 60, Duration.ofSeconds(5));
    c.sched.advance(Duration.ofSeconds(10)); // every VIP Lease written
    c.kill("node3");
    for (int i = 0; i < 400; i++) {
      c.sched.advanceMillis(100);
      boolean referenced =
          c.server.all().stream()
              .anyMatch(
                  l ->
                      "node3".equals(Leases.holder(l))
                          || String.valueOf(Leases.annotation(l, Leases.HANDOFF))
                              .contains("node3="));
      if (referenced) {
        assertNotNull(c.server.lease("node-node3"), "still referenced at step " + i);
      }
    }
    assertNull(c.server.lease("node-node3"), "deleted once nothing referenced it");
    assertNotNull(c.server.lease("node-node1"));
    assertNotNull(c.server.lease("node-node2"));
    assertEquals(60, c.ownership().size());
  }

  @Test
  void aNodeThatComesBackAfterItsLeaseWasCollectedStartsAfresh() {
    ElectionConfig cfg =
        ElectionConfig.builder("vipgress").releasedLeaseGc(Duration.ofSeconds(2)).build();
    cluster = new FakeCluster(cfg, 45);
    FakeCluster c = cluster;
    Set<String> vips = FakeCluster.vips(10);
    c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(5));
    b.elector.close();
    c.sched.advance(Duration.ofSeconds(20));
    assertNull(c.server.lease("node-node2"));
    Member b2 = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    assertNotNull(c.server.lease("node-node2"));
    assertEquals(2, b2.elector.metrics().liveNodes());
    assertEquals(10, c.ownership().size());
  }

  @Test
  void optInRebalancingMovesOneVipPerIntervalUntilTheSharesAreEven() {
    ElectionConfig cfg =
        ElectionConfig.builder("vipgress").rebalanceInterval(Duration.ofSeconds(1)).build();
    cluster = new FakeCluster(cfg, 46);
    FakeCluster c = cluster;
    Set<String> vips = FakeCluster.vips(40);
    Member a = c.start("node1", vips);
    c.sched.advance(Duration.ofSeconds(15)); // alone: it owns all, the VIP Leases are written
    assertEquals(40, a.listener.ownedNow().size());
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofMillis(5500));
    int moved = b.listener.ownedNow().size();
    assertTrue(moved >= 2 && moved <= 6, "one move per second, got " + moved);
    c.sched.advance(Duration.ofSeconds(30));
    assertEquals(40, c.ownership().size());
    assertEquals(20, a.listener.ownedNow().size(), c.counts()::toString);
    assertEquals(20, b.listener.ownedNow().size(), c.counts()::toString);
    assertEquals(20, a.listener.count("lost", null), "each move is one lost() on the giver");
    c.sched.advance(Duration.ofSeconds(10));
    assertEquals(20, b.listener.ownedNow().size(), "balanced: nothing moves any more");
  }

  @Test
  void threeNodesSpreadVipsAndAgreeOnOwners() {
    FakeCluster c = cluster(2);
    Set<String> vips = FakeCluster.vips(300);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(5));
    Map<String, String> own = c.ownership();
    assertEquals(300, own.size());
    for (int n : c.counts().values()) {
      assertTrue(n > 70 && n < 130, c.counts()::toString);
    }
    for (Member m : c.members.values()) {
      assertEquals(own, m.elector.owners(), m.node + "'s view");
      assertEquals(own, m.listener.owners, m.node + "'s ownerChanged events");
      assertEquals(3, m.elector.metrics().liveNodes());
    }
    // only the owners wrote: one create per VIP, no conflicts with this much placement delay
    assertEquals(
        0, c.members.values().stream().mapToLong(m -> m.elector.metrics().conflicts()).sum());
  }

  @Test
  void nodesStartedAFewHundredMillisecondsApartStillShareTheVips() {
    FakeCluster c = cluster(22);
    Set<String> vips = FakeCluster.vips(300);
    c.start("node1", vips);
    c.sched.advanceMillis(800);
    c.start("node2", vips);
    c.sched.advanceMillis(800);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(300, c.ownership().size());
    assertEquals(3, c.counts().size(), c.counts()::toString);
    for (int n : c.counts().values()) {
      assertTrue(n > 70 && n < 130, c.counts()::toString);
    }
  }

  @Test
  void slowPeersStillInTheirStartupGraceKeepTheirShare() {
    FakeCluster c = cluster(23);
    Set<String> vips = FakeCluster.vips(600);
    c.start("node1", vips);
    c.sched.advanceMillis(900);
    c.start("node2", vips).client.extraLatencyMillis = 20;
    c.sched.advanceMillis(700);
    c.start("node3", vips).client.extraLatencyMillis = 20;
    c.sched.advance(Duration.ofSeconds(30));
    assertEquals(600, c.ownership().size());
    for (int n : c.counts().values()) {
      assertTrue(n > 160 && n < 240, c.counts()::toString);
    }
  }

  @Test
  void steadyStateRequestsDoNotGrowWithTheNumberOfVips() {
    long small = steadyRequests(10);
    long large = steadyRequests(2000);
    // 3 nodes x 2 renewals/s x 10 s, nothing else
    assertTrue(small >= 57 && small <= 63, "requests with 10 VIPs: " + small);
    assertTrue(Math.abs(large - small) <= 3, small + " vs " + large);
  }

  private long steadyRequests(int n) {
    FakeCluster c = cluster(3);
    Set<String> vips = FakeCluster.vips(n);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(10));
    assertEquals(n, c.ownership().size());
    long before = c.server.totalRequests();
    c.sched.advance(Duration.ofSeconds(10));
    return c.server.totalRequests() - before;
  }

  @Test
  void crashedOwnersVipsMoveAfterTheLeaseDurationAndOthersStay() {
    FakeCluster c = cluster(4);
    Set<String> vips = FakeCluster.vips(30);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(4));
    Map<String, String> before = c.ownership();
    c.sched.advanceMillis(137); // somewhere inside a renew interval
    c.kill("node1");
    long t = c.sched.advanceUntil(() -> c.ownership().size() == 30, Duration.ofSeconds(3));
    assertTrue(t > 450 * MS && t < 1100 * MS, "failover took " + t / MS + " ms");
    Map<String, String> after = c.ownership();
    before.forEach(
        (v, n) -> {
          if (!n.equals("node1")) {
            assertEquals(n, after.get(v), "VIP " + v + " of a live node must not move");
          }
        });
    assertFalse(after.containsValue("node1"));
    long fences =
        c.member("node2").elector.metrics().fences() + c.member("node3").elector.metrics().fences();
    assertTrue(fences >= 1);
    assertNotNull(Leases.annotation(c.server.lease("node-node1"), Leases.FENCED_BY));
  }

  @Test
  void failoverStaysWithinBoundsAtEveryPhaseOfTheRenewInterval() {
    for (int phase = 0; phase < 500; phase += 50) {
      FakeCluster c = cluster(5 + phase);
      Set<String> vips = FakeCluster.vips(6);
      c.start("node1", vips);
      c.start("node2", vips);
      c.sched.advance(Duration.ofSeconds(3));
      c.sched.advanceMillis(phase);
      Set<String> lostOnes = c.member("node1").listener.ownedNow();
      c.kill("node1");
      long t = c.sched.advanceUntil(() -> c.ownership().size() == 6, Duration.ofSeconds(3));
      assertTrue(t < 1100 * MS, "phase " + phase + ": " + t / MS + " ms");
      assertTrue(lostOnes.isEmpty() || t > 400 * MS, "phase " + phase + ": " + t / MS + " ms");
      assertTrue(c.ledger.violations.isEmpty(), c.ledger.violations::toString);
    }
  }

  @Test
  void gracefulCloseHandsOverAtOnce() {
    FakeCluster c = cluster(6);
    Set<String> vips = FakeCluster.vips(20);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    Set<String> aOwned = a.listener.ownedNow();
    assertFalse(aOwned.isEmpty());
    long start = c.sched.nanoTime();
    a.elector.close();
    long t = c.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(2));
    assertTrue(t < 30 * MS, "handover took " + t / MS + " ms");
    assertTrue(a.listener.ownedNow().isEmpty());
    assertEquals(aOwned.size(), a.listener.count("lost", "SHUTDOWN"));
    long lastLost =
        a.listener.events("lost").stream().mapToLong(RecordingListener.Event::at).max().orElse(0);
    long firstAcquire =
        b.listener.events("acquired").stream()
            .filter(e -> e.at() >= start)
            .mapToLong(RecordingListener.Event::at)
            .min()
            .orElseThrow();
    assertTrue(lastLost <= firstAcquire, "lost() precedes the peer's acquired()");
    assertEquals(
        Leases.STATE_STOPPED, Leases.annotation(c.server.lease("node-node1"), Leases.STATE));
    assertEquals(0, b.elector.metrics().fences());
  }

  @Test
  void unhealthyNodeHandsOverAtOnceAndDoesNotTakeVipsBackWhenHealthy() {
    FakeCluster c = cluster(7);
    Set<String> vips = FakeCluster.vips(20);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    int aCount = a.listener.ownedNow().size();
    assertTrue(aCount > 0);
    a.elector.setHealthy(false);
    long t = c.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(2));
    assertTrue(t < 30 * MS, "handover took " + t / MS + " ms");
    assertEquals(aCount, a.listener.count("lost", "UNHEALTHY"));
    assertEquals("false", Leases.annotation(c.server.lease("node-node1"), Leases.ELIGIBLE));
    assertEquals(1, b.elector.metrics().eligibleNodes());

    a.elector.setHealthy(true);
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(20, b.listener.ownedNow().size(), "sticky: nothing moves back");
    assertTrue(a.listener.ownedNow().isEmpty());
    assertEquals(2, b.elector.metrics().eligibleNodes());

    c.kill("node2");
    c.sched.advanceUntil(() -> a.listener.ownedNow().size() == 20, Duration.ofSeconds(2));
  }

  @Test
  void vipLeavingCandidacyIsReleasedAndTakenByAPeer() {
    FakeCluster c = cluster(8);
    Set<String> vips = FakeCluster.vips(10);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    String v = a.listener.ownedNow().iterator().next();
    Set<String> less = new HashSet<>(vips);
    less.remove(v);
    a.elector.setCandidacy(less);
    long t = c.sched.advanceUntil(() -> b.listener.ownedNow().contains(v), Duration.ofSeconds(3));
    assertTrue(t < 30 * MS, "release took " + t / MS + " ms");
    assertEquals(1, a.listener.count("lost", "CANDIDACY"));
    assertEquals(1, a.elector.metrics().releases());
    assertEquals("node2", Leases.holder(c.server.lease(VipAddress.parse(v).leaseName())));
  }

  @Test
  void vipGoesToTheOnlyCandidateEvenIfPlacementPrefersAnother() {
    FakeCluster c = cluster(9);
    Set<String> all = FakeCluster.vips(20);
    Set<String> some = new HashSet<>(all);
    Set<String> onlyA = new HashSet<>();
    for (String v : all) {
      if (onlyA.size() < 5) {
        onlyA.add(v);
        some.remove(v);
      }
    }
    Member a = c.start("node1", all);
    c.start("node2", some);
    c.sched.advance(Duration.ofSeconds(3));
    assertTrue(a.listener.ownedNow().containsAll(onlyA), a.listener.ownedNow()::toString);
    assertEquals(20, c.ownership().size());
  }

  @Test
  void frozenApiServerLetsEveryOwnerGoAtItsDeadlineAndOwnershipComesBackUnchanged() {
    FakeCluster c = cluster(10);
    Set<String> vips = FakeCluster.vips(30);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(4));
    Map<String, String> before = c.ownership();
    c.server.freeze();
    c.sched.advanceMillis(950);
    assertTrue(c.ownership().isEmpty(), "every deadline passed");
    c.sched.advance(Duration.ofSeconds(3));
    for (Member m : c.members.values()) {
      assertTrue(m.listener.count("lost", "DEADLINE") > 0 || m.listener.owned.isEmpty());
      assertFalse(m.elector.metrics().apiHealthy());
    }
    c.server.thaw();
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(before, c.ownership(), "same owners after the API server returns");
    for (Member m : c.members.values()) {
      assertEquals(0, m.elector.metrics().fences(), m.node + " fenced a peer");
      assertEquals(0, m.listener.count("lost", "FENCED"));
      assertEquals(0, m.listener.count("lost", "TAKEN"));
    }
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(before, c.ownership(), "no flapping");
  }

  @Test
  void apiServerDownThenUpRecoversTheSameOwners() {
    FakeCluster c = cluster(11);
    Set<String> vips = FakeCluster.vips(30);
    c.start("node1", vips);
    c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(4));
    Map<String, String> before = c.ownership();
    c.server.setDown(true);
    c.sched.advance(Duration.ofSeconds(3));
    assertTrue(c.ownership().isEmpty());
    assertTrue(c.member("node1").elector.metrics().renewalFailures() > 5);
    c.server.setDown(false);
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(before, c.ownership());
    for (Member m : c.members.values()) {
      assertEquals(0, m.elector.metrics().fences());
    }
  }

  @Test
  void partitionedOwnerIsFencedAndDoesNotTakeVipsBackWhenItReturns() {
    FakeCluster c = cluster(12);
    Set<String> vips = FakeCluster.vips(20);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    int aCount = a.listener.ownedNow().size();
    assertTrue(aCount > 0);
    a.client.partitioned = true;
    long t = c.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(3));
    assertTrue(t < 1100 * MS, "takeover took " + t / MS + " ms");
    assertEquals(aCount, a.listener.count("lost", "DEADLINE"));
    assertEquals(1, b.elector.metrics().fences());
    a.client.partitioned = false;
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(20, b.listener.ownedNow().size());
    assertTrue(a.listener.ownedNow().isEmpty());
    V1LeaseCheck.assertNotFenced(c.server.lease("node-node1"));
    assertEquals(2, b.elector.metrics().liveNodes());
  }

  @Test
  void ownerWhoseRenewalsAreLateLetsGoAndResumesWithoutAMove() {
    FakeCluster c = cluster(13);
    Member a = c.start("node1", Set.of("10.0.0.1", "10.0.0.2"));
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(2, a.listener.ownedNow().size());
    a.client.extraLatencyMillis = 1500;
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(2, a.listener.count("lost", "DEADLINE"));
    a.client.extraLatencyMillis = 0;
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(2, a.listener.ownedNow().size());
    assertEquals(0, a.listener.count("lost", "FENCED"));
  }

  @Test
  void vipLeaseDeletedByHandIsRecreatedByItsOwnerWithoutAGap() {
    FakeCluster c = cluster(14);
    Set<String> vips = FakeCluster.vips(10);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    String v = a.listener.ownedNow().iterator().next();
    String name = VipAddress.parse(v).leaseName();
    c.server.deleteByHand(name);
    c.sched.advanceMillis(1);
    c.sched.advance(Duration.ofSeconds(3));
    assertNotNull(c.server.lease(name));
    assertEquals("node1", Leases.holder(c.server.lease(name)));
    assertEquals(0, a.listener.count("lost", null), "no lost() for a re-created Lease");
    assertFalse(b.listener.events("acquired").stream().anyMatch(e -> e.vip().equals(v)));
    assertTrue(a.listener.ownedNow().contains(v));
  }

  @Test
  void concurrentClaimsResolveThroughConflictsToOneOwnerEach() {
    ElectionConfig cfg =
        ElectionConfig.builder("vipgress")
            .placementStagger(Duration.ZERO)
            .placementFallback(Duration.ZERO)
            .build();
    cluster = new FakeCluster(cfg, 16);
    FakeCluster c = cluster;
    c.server.jitterMillis = 15;
    Set<String> vips = FakeCluster.vips(100);
    // released VIP Leases (a genesis Lease would give VIPs without one their owners in one write)
    for (String v : vips) {
      V1Lease l = Leases.newLease("vipgress", VipAddress.parse(v).leaseName(), Leases.KIND_VIP);
      l.getMetadata().getAnnotations().put(Leases.VIP, v);
      l.getSpec().leaseDurationSeconds(1);
      try {
        c.server.create(l);
      } catch (ApiException e) {
        throw new AssertionError(e);
      }
    }
    for (int i = 1; i <= 5; i++) {
      c.start("node" + i, vips);
    }
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(100, c.ownership().size());
    long conflicts =
        c.members.values().stream().mapToLong(m -> m.elector.metrics().conflicts()).sum();
    assertTrue(conflicts > 50, "conflicts: " + conflicts);
    for (Member m : c.members.values()) {
      assertEquals(c.ownership(), m.elector.owners());
    }
  }

  @Test
  void restartedProcessWaitsForItsPredecessorToLapse() {
    FakeCluster c = cluster(17);
    Set<String> vips = FakeCluster.vips(10);
    Member a = c.start("node1", vips);
    c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    String oldInc = Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION);
    assertFalse(a.listener.ownedNow().isEmpty());
    c.kill("node1");
    Member a2 = c.start("node1", vips); // restarted at once, same node name
    c.sched.advance(Duration.ofSeconds(4));
    assertEquals(10, c.ownership().size());
    assertNotEquals(oldInc, Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION));
    assertTrue(a2.elector.metrics().liveNodes() == 2);
  }

  @Test
  void joiningNodeCausesNoMoves() {
    FakeCluster c = cluster(18);
    Set<String> vips = FakeCluster.vips(40);
    c.start("node1", vips);
    c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    Map<String, String> before = c.ownership();
    Member n3 = c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(10));
    assertEquals(before, c.ownership());
    assertTrue(n3.listener.owned.isEmpty());
    // new VIPs do spread to it
    Set<String> more = new HashSet<>(vips);
    more.addAll(Set.of("10.99.0.1", "10.99.0.2", "10.99.0.3", "10.99.0.4", "10.99.0.5"));
    more.addAll(Set.of("10.99.0.6", "10.99.0.7", "10.99.0.8", "10.99.0.9", "10.99.0.10"));
    for (Member m : c.members.values()) {
      m.elector.setCandidacy(more);
    }
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(50, c.ownership().size());
    assertFalse(n3.listener.owned.isEmpty());
  }

  @Test
  void releasedLeaseNobodyWantsIsDeletedAfterAWhile() {
    FakeCluster c = cluster(19);
    Member a = c.start("node1", Set.of("10.0.0.1"));
    c.start("node2", Set.of());
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(Set.of("10.0.0.1"), a.listener.ownedNow());
    a.elector.setCandidacy(Set.of());
    c.sched.advance(Duration.ofSeconds(5));
    assertNotNull(c.server.lease("vip-10-0-0-1"));
    assertEquals("", Leases.holder(c.server.lease("vip-10-0-0-1")));
    c.sched.advance(Duration.ofSeconds(60));
    assertNull(c.server.lease("vip-10-0-0-1"));
    assertTrue(a.elector.owners().isEmpty());
  }

  @Test
  void lostCrashedPeerWithAMissingLivenessLeaseIsFencedByCreatingIt() {
    FakeCluster c = cluster(20);
    Set<String> vips = FakeCluster.vips(10);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    assertFalse(a.listener.ownedNow().isEmpty());
    c.kill("node1");
    c.server.deleteByHand("node-node1");
    c.sched.advanceUntil(() -> b.listener.ownedNow().size() == 10, Duration.ofSeconds(3));
    assertNotNull(Leases.annotation(c.server.lease("node-node1"), Leases.FENCED_BY));
  }

  @Test
  void failoverMovesThousandsOfVipsWithOneWriteAndAdoptsThemLater() {
    FakeCluster c = cluster(30);
    c.server.latencyMillis = 5;
    Set<String> vips = FakeCluster.vips(3000);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(20));
    assertEquals(3000, c.ownership().size());
    Set<String> victims = c.member("node1").listener.ownedNow();
    c.sched.advanceMillis(222);
    long writesBefore = c.server.writes();
    c.kill("node1");
    long t = c.sched.advanceUntil(() -> c.ownership().size() == 3000, Duration.ofSeconds(3));
    assertTrue(t < 1100 * MS, "failover of " + victims.size() + " VIPs took " + t / MS + " ms");
    long writes = c.server.writes() - writesBefore;
    assertTrue(writes < 20, "writes until every VIP moved: " + writes);
    assertTrue(c.member("node2").listener.ownedNow().size() > 1200);
    assertTrue(c.member("node3").listener.ownedNow().size() > 1200);
    // the heirs rewrite the inherited Leases in their own name, in the background
    c.sched.advance(Duration.ofSeconds(60));
    for (String v : victims) {
      assertEquals(
          c.ownership().get(v), Leases.holder(c.server.lease(VipAddress.parse(v).leaseName())));
    }
  }

  @Test
  void gracefulHandoverOfThousandsOfVipsIsOneWrite() {
    FakeCluster c = cluster(31);
    c.server.latencyMillis = 5;
    Set<String> vips = FakeCluster.vips(3000);
    Member a = c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(20));
    assertEquals(3000, c.ownership().size());
    long writesBefore = c.server.writes();
    a.elector.close();
    long t =
        c.sched.advanceUntil(
            () ->
                c.member("node2").listener.ownedNow().size()
                        + c.member("node3").listener.ownedNow().size()
                    == 3000,
            Duration.ofSeconds(3));
    assertTrue(t < 30 * MS, "handover took " + t / MS + " ms");
    long writes = c.server.writes() - writesBefore;
    assertTrue(writes < 50, "writes until every VIP moved (adoption included): " + writes);
    assertTrue(a.listener.ownedNow().isEmpty());
  }

  @Test
  void heirThatDiesBeforeAdoptingPassesTheVipsOnThroughTheChain() {
    FakeCluster c = cluster(32);
    c.server.latencyMillis = 40; // slow writes: adoption is far from done when the heir dies
    Set<String> vips = FakeCluster.vips(600);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(40));
    assertEquals(600, c.ownership().size());
    c.kill("node1");
    c.sched.advanceUntil(() -> c.ownership().size() == 600, Duration.ofSeconds(3));
    c.sched.advanceMillis(300);
    long notAdopted = c.server.all().stream().filter(l -> "node1".equals(Leases.holder(l))).count();
    assertTrue(notAdopted > 50, "still naming node1: " + notAdopted);
    c.kill("node2");
    long t = c.sched.advanceUntil(() -> c.ownership().size() == 600, Duration.ofSeconds(3));
    assertTrue(t < 1200 * MS, "second failover took " + t / MS + " ms");
    assertEquals(Set.of("node3"), Set.copyOf(c.ownership().values()));
    c.sched.advance(Duration.ofSeconds(60));
    for (var l : c.server.all()) {
      if (Leases.isVipLease(l)) {
        assertEquals("node3", Leases.holder(l));
      }
    }
  }

  @Test
  void heirThatIsNotACandidateReleasesTheVip() {
    FakeCluster c = cluster(33);
    Set<String> all = FakeCluster.vips(40);
    Set<String> fewer = new HashSet<>(all);
    String only = all.iterator().next();
    fewer.remove(only);
    Member a = c.start("node1", all);
    c.start("node2", fewer);
    Member n3 = c.start("node3", all);
    c.sched.advance(Duration.ofSeconds(3));
    // make sure node1 owns `only`, then kill it: node2 may inherit it but does not want it
    if (!a.listener.ownedNow().contains(only)) {
      (n3.listener.ownedNow().contains(only) ? n3 : a).elector.setCandidacy(fewer);
      c.sched.advance(Duration.ofSeconds(3));
      n3.elector.setCandidacy(all);
      c.sched.advance(Duration.ofSeconds(1));
    }
    c.kill(c.ownership().get(only));
    c.sched.advanceUntil(() -> c.ownership().size() == 40, Duration.ofSeconds(5));
    assertEquals("node3", c.ownership().get(only));
  }

  @Test
  void metricsCountWhatHappened() {
    FakeCluster c = cluster(21);
    Member a = c.start("node1", Set.of("10.0.0.1", "10.0.0.2"));
    c.sched.advance(Duration.ofSeconds(3));
    ElectionMetrics m = a.elector.metrics();
    assertEquals(2, m.ownedVips());
    assertEquals(2, m.knownVips());
    assertEquals(2, m.candidateVips());
    assertEquals(2, m.acquisitions());
    assertTrue(m.renewals() >= 4);
    assertTrue(m.apiHealthy());
    assertEquals(1, m.liveNodes());
    Map<ElectionListener.LossReason, Long> zero = new HashMap<>();
    for (ElectionListener.LossReason r : ElectionListener.LossReason.values()) {
      zero.put(r, 0L);
    }
    assertEquals(zero, m.losses());
  }
}
