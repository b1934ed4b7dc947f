package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node whose Lease view is consistent but old (its watch stalled; it is not told) must not hand
 * itself a VIP a live peer holds. The peer {@code node1} is written by hand here and renewed every
 * 300 ms, so it is live throughout; {@code node2} is the elector under test. Found by the simulator
 * (sim-findings.md: "genesis from a stale view", "409 → GET → blind overwrite").
 */
class StaleViewTest {
  private static final String VIP = "10.0.0.1";
  private static final String VIP_LEASE = VipAddress.parse(VIP).leaseName();

  private FakeCluster cluster;
  private String peerIncarnation;
  private String peerCandidacy;

  @AfterEach
  void noDualOwners() {
    assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
  }

  /**
   * node2's view shows neither the VIP's Lease nor a genesis Lease, so it writes a genesis Lease
   * for the VIP. The create succeeds (none exists), but the VIP's Lease, held by node1, was
   * committed before it: taking the genesis Lease from the create's response, before the watch has
   * delivered everything committed before it, made node2 the VIP's first owner.
   */
  @Test
  void aGenesisLeaseWrittenFromAnOldViewGivesNothingAwayBeforeTheWatchDeliversIt() {
    cluster = new FakeCluster(81);
    FakeCluster c = cluster;
    keepPeerLive("a", Set.of());
    Member n2 = c.start("node2", Set.of());
    c.sched.advanceMillis(20); // listed: node1, no VIP Lease, no genesis Lease
    n2.client.watchStalled = true;
    c.server.replaceByHand(vipLease("node1", "a")); // node1 holds the VIP
    n2.elector.setCandidacy(Set.of(VIP));
    c.sched.advance(Duration.ofSeconds(4));
    assertNotNull(c.server.lease(Genesis.NAME), "node2 wrote a genesis Lease from its old view");
    assertEquals("node1", Leases.holder(c.server.lease(VIP_LEASE)));
    assertTrue(n2.listener.events("acquired").isEmpty(), () -> "acquired " + n2.listener.events);

    n2.client.unstall();
    c.sched.advance(Duration.ofSeconds(3));
    assertTrue(n2.listener.events("acquired").isEmpty(), () -> "acquired " + n2.listener.events);
    assertEquals("node1", Leases.holder(c.server.lease(VIP_LEASE)));
    assertEquals(Map.of(VIP, "node1"), n2.elector.owners());
  }

  /**
   * node2's view: node1 restarted (incarnation b) while the VIP's Lease still names its ended
   * incarnation a — free. node1 has since taken it back under incarnation c, which node2 has not
   * seen. node2's write from its old view gets a 409 and re-reads the Lease: the fresh Lease names
   * c, which node2's view of node1 (still b) cannot vouch for. Taking it with the fresh resource
   * version overwrote a live owner.
   */
  @Test
  void aVipLeaseReadAfterAConflictIsNotTakenFromAHolderTheViewHasNotCaughtUpWith() {
    cluster = new FakeCluster(82);
    FakeCluster c = cluster;
    keepPeerLive("b", Set.of(VIP));
    c.server.replaceByHand(vipLease("node1", "a"));
    Member n2 = c.start("node2", Set.of(VIP));
    c.sched.advanceMillis(20); // listed: node1 under b, the VIP under a (ended without heirs)
    n2.client.watchStalled = true;
    peerIncarnation = "c"; // node1 restarted again, then took the VIP back under c
    c.server.replaceByHand(peerLiveness());
    c.server.replaceByHand(vipLease("node1", "c"));
    c.sched.advance(Duration.ofSeconds(4));
    assertTrue(
        c.server.requests(FakeApiServer.Verb.GET) > 0, "node2 tried from its old view, re-read");
    assertEquals("node1", Leases.holder(c.server.lease(VIP_LEASE)));
    assertTrue(n2.listener.events("acquired").isEmpty(), () -> "acquired " + n2.listener.events);

    n2.client.unstall();
    c.sched.advance(Duration.ofSeconds(3));
    assertEquals("node1", Leases.holder(c.server.lease(VIP_LEASE)));
    assertTrue(n2.listener.events("acquired").isEmpty(), () -> "acquired " + n2.listener.events);
    assertEquals(Map.of(VIP, "node1"), n2.elector.owners());
  }

  /** node1's liveness Lease, renewed by hand every 300 ms under {@link #peerIncarnation}. */
  private void keepPeerLive(String incarnation, Set<String> candidacy) {
    peerIncarnation = incarnation;
    peerCandidacy = LeaseElector.stamp(candidacy);
    Runnable[] renew = new Runnable[1];
    renew[0] =
        () -> {
          cluster.server.replaceByHand(peerLiveness());
          cluster.sched.schedule(renew[0], 300_000_000L);
        };
    renew[0].run();
  }

  private V1Lease peerLiveness() {
    V1Lease l = Leases.newLease("vipgress", Leases.nodeLeaseName("node1"), Leases.KIND_NODE);
    Map<String, String> a = l.getMetadata().getAnnotations();
    a.put(Leases.NODE, "node1");
    a.put(Leases.INCARNATION, peerIncarnation);
    a.put(Leases.ELIGIBLE, "true");
    a.put(Leases.STATE, Leases.STATE_RUNNING);
    a.put(Leases.DURATION_MS, "1000");
    a.put(Leases.CANDIDACY, peerCandidacy);
    l.getSpec().holderIdentity("node1").leaseDurationSeconds(1);
    return l;
  }

  private static V1Lease vipLease(String holder, String incarnation) {
    V1Lease l = Leases.newLease("vipgress", VIP_LEASE, Leases.KIND_VIP);
    l.getMetadata().getAnnotations().put(Leases.VIP, VIP);
    l.getMetadata().getAnnotations().put(Leases.INCARNATION, incarnation);
    l.getSpec().holderIdentity(holder).leaseDurationSeconds(1);
    return l;
  }
}
