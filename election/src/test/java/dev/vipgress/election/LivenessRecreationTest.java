package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A liveness Lease that has to be re-created (it was collected or deleted) starts a new
 * incarnation, and the node claims nothing until its view of the Leases has caught up with that
 * renewal.
 */
class LivenessRecreationTest {
  private FakeCluster cluster;

  @AfterEach
  void noDualOwners() {
    assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
  }

  /**
   * Issue 10 item 1: node1 is cut off from the API server (not from its peers) for longer than
   * {@code releasedLeaseGc}; node2 fences it, adopts its VIPs and collects its liveness Lease. When
   * the API server comes back, node1's watch has not re-listed yet: its VIP Lease cache still says
   * node1 holds its old VIPs.
   */
  @Test
  void aNodeWhoseLeaseWasCollectedClaimsNothingFromItsStaleView() {
    ElectionConfig cfg =
        ElectionConfig.builder("vipgress").releasedLeaseGc(Duration.ofSeconds(3)).build();
    cluster = new FakeCluster(cfg, 51);
    FakeCluster c = cluster;
    Set<String> vips = FakeCluster.vips(20);
    Member a = c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(15)); // VIP Leases written in their holders' names
    Set<String> aOwned = a.listener.ownedNow();
    assertFalse(aOwned.isEmpty());
    String oldInc = Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION);

    a.client.partitioned = true;
    a.client.watchBroken = true;
    c.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(3));
    c.sched.advanceUntil(() -> c.server.lease("node-node1") == null, Duration.ofSeconds(30));
    for (String v : aOwned) {
      assertEquals("node2", Leases.holder(c.server.lease(VipAddress.parse(v).leaseName())));
    }

    a.client.partitioned = false; // the API server is back; node1's watch has not re-listed
    c.sched.advance(Duration.ofSeconds(3));
    assertNotNull(c.server.lease("node-node1"), "node1 re-created its liveness Lease");
    assertNotEquals(
        oldInc,
        Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION),
        "a re-created liveness Lease has a new incarnation");
    assertTrue(a.listener.ownedNow().isEmpty(), () -> "claimed " + a.listener.ownedNow());
    assertEquals(20, b.listener.ownedNow().size());

    a.client.relist();
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals(20, b.listener.ownedNow().size(), "nothing moves back");
    assertTrue(a.listener.ownedNow().isEmpty());
    assertEquals(b.elector.owners(), a.elector.owners(), "node1 sees node2's VIPs");
  }

  /** Deleted by hand: the node starts over under a new incarnation and takes its VIPs back. */
  @Test
  void aLivenessLeaseDeletedByHandIsRecreatedUnderANewIncarnationAndTheOwnersStay() {
    cluster = new FakeCluster(52);
    FakeCluster c = cluster;
    Set<String> vips = FakeCluster.vips(20);
    Member a = c.start("node1", vips);
    c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(3));
    Map<String, String> before = c.ownership();
    String inc = Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION);
    c.server.deleteByHand("node-node1");
    c.sched.advance(Duration.ofSeconds(4));
    assertEquals(before, c.ownership());
    assertNotEquals(inc, Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION));
    assertNull(Leases.annotation(c.server.lease("node-node1"), Leases.FENCED_BY));
    assertEquals(
        a.listener.count("lost", null), a.listener.count("lost", "FENCED"), "lost as fenced");
  }
}
