package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Issue 10 item 8, the smaller election findings. */
class SmallFixesTest {
  private FakeCluster cluster;

  @AfterEach
  void noDualOwners() {
    assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
  }

  @Test
  void aVipWhoseLeaseWasDeletedKeepsOneTimerHoweverOftenItIsEvaluated() {
    cluster = new FakeCluster(71);
    FakeCluster c = cluster;
    Member a = c.start("node1", Set.of("10.0.0.1"));
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(Set.of("10.0.0.1"), a.listener.ownedNow());
    a.client.partitioned = true; // the re-create fails and is retried every retryInterval
    c.server.deleteByHand("vip-10-0-0-1");
    a.client.partitioned = false;
    c.sched.advanceMillis(2);
    a.client.partitioned = true;
    long most = 0;
    for (int i = 0; i < 8; i++) {
      c.sched.advanceMillis(100);
      most = Math.max(most, c.sched.mostTasksAtOneInstant());
    }
    assertTrue(most <= 2, "timers due at one instant: " + most);
  }

  @Test
  void aReleaseDoesNotWaitBehindTheThrottledAdoptionItWasQueuedAs() {
    cluster = new FakeCluster(72);
    FakeCluster c = cluster;
    c.server.latencyMillis = 40; // adoption of hundreds of VIPs takes seconds
    Set<String> vips = FakeCluster.vips(600);
    c.start("node1", vips);
    Member b = c.start("node2", vips);
    Member n3 = c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(40));
    c.kill("node1");
    c.sched.advanceUntil(() -> c.ownership().size() == 600, Duration.ofSeconds(3));
    c.sched.advanceMillis(200);
    Set<String> withdrawn =
        b.listener.ownedNow().stream()
            .filter(
                x -> "node1".equals(Leases.holder(c.server.lease(VipAddress.parse(x).leaseName()))))
            .limit(20)
            .collect(java.util.stream.Collectors.toSet());
    assertEquals(20, withdrawn.size(), "inherited and still queued for adoption");
    Set<String> less = new java.util.HashSet<>(vips);
    less.removeAll(withdrawn);
    b.elector.setCandidacy(less);
    long t =
        c.sched.advanceUntil(
            () -> n3.listener.ownedNow().containsAll(withdrawn), Duration.ofSeconds(10));
    assertTrue(t < 300 * 1_000_000L, "the releases took " + t / 1_000_000 + " ms");
  }

  @Test
  void aVipWhoseLeaseVanishesWhileItsAcquireIsQueuedGetsItsOwnerFromAGenesisLease()
      throws Exception {
    cluster = new FakeCluster(73);
    FakeCluster c = cluster;
    c.server.latencyMillis = 20;
    Set<String> vips = FakeCluster.vips(300);
    for (String v : vips) { // released VIP Leases: taken one write each
      var l = Leases.newLease("vipgress", VipAddress.parse(v).leaseName(), Leases.KIND_VIP);
      l.getMetadata().getAnnotations().put(Leases.VIP, v);
      l.getSpec().leaseDurationSeconds(1);
      c.server.create(l);
    }
    Member a = c.start("node1", vips);
    c.sched.advanceMillis(1100); // the startup grace is over: acquires are queued
    int deleted = 0;
    for (String v : vips) {
      String name = VipAddress.parse(v).leaseName();
      if (Leases.holder(c.server.lease(name)).isEmpty() && deleted < 50) {
        c.server.deleteByHand(name);
        deleted++;
      }
    }
    assertEquals(50, deleted);
    c.sched.advance(Duration.ofSeconds(5));
    assertEquals(vips, a.listener.ownedNow());
    assertEquals(java.util.List.of(), c.server.claimedOutsideGenesis);
  }

  @Test
  void aNodeOfAnotherProtocolVersionIsNeitherFencedNorTakenFromNorPlacedOnto() throws Exception {
    cluster = new FakeCluster(74);
    FakeCluster c = cluster;
    var peer = Leases.newLease("vipgress", "node-node9", Leases.KIND_NODE);
    var pa = peer.getMetadata().getAnnotations();
    pa.put(Leases.PROTOCOL, "2");
    pa.put(Leases.NODE, "node9");
    pa.put(Leases.INCARNATION, "x9");
    pa.put(Leases.ELIGIBLE, "true");
    pa.put(Leases.STATE, Leases.STATE_RUNNING);
    pa.put(Leases.CANDIDACY, LeaseElector.stamp(Set.of("10.0.0.9", "10.0.0.1")));
    peer.getSpec().holderIdentity("node9").leaseDurationSeconds(1);
    c.server.create(peer);
    var held = Leases.newLease("vipgress", "vip-10-0-0-9", Leases.KIND_VIP);
    held.getMetadata().getAnnotations().put(Leases.PROTOCOL, "2");
    held.getMetadata().getAnnotations().put(Leases.VIP, "10.0.0.9");
    held.getMetadata().getAnnotations().put(Leases.INCARNATION, "x9");
    held.getSpec().holderIdentity("node9").leaseDurationSeconds(1);
    c.server.create(held);

    Member a = c.start("node1", Set.of("10.0.0.9", "10.0.0.1"));
    c.sched.advance(Duration.ofSeconds(10)); // node9 never renews: it lapsed long ago
    assertEquals(null, Leases.annotation(c.server.lease("node-node9"), Leases.FENCED_BY));
    assertEquals("node9", Leases.holder(c.server.lease("vip-10-0-0-9")));
    assertEquals(Set.of("10.0.0.1"), a.listener.ownedNow());
    assertEquals("node9", a.elector.owners().get("10.0.0.9"));
    assertEquals(
        Leases.PROTOCOL_VERSION,
        Leases.annotation(c.server.lease("vip-10-0-0-1"), Leases.PROTOCOL),
        "Leases carry the protocol version");
    assertEquals(
        Leases.PROTOCOL_VERSION, Leases.annotation(c.server.lease("node-node1"), Leases.PROTOCOL));
  }
}
