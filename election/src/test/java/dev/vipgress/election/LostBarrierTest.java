package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code lost()} barrier: a release that lets a peer take a VIP is written only after the
 * listener's {@link ElectionListener#lostAll} stage completed (the datapath really stopped), or at
 * the latest at the fencing deadline the listener was last given.
 */
class LostBarrierTest {
  private static final long MS = 1_000_000L;
  private FakeCluster cluster;

  @AfterEach
  void noDualOwners() {
    assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
  }

  private Member[] twoNodes(long seed, int n) {
    cluster = new FakeCluster(seed);
    Set<String> vips = FakeCluster.vips(n);
    Member a = cluster.start("node1", vips);
    Member b = cluster.start("node2", vips);
    cluster.sched.advance(Duration.ofSeconds(3));
    assertFalse(a.listener.ownedNow().isEmpty());
    return new Member[] {a, b};
  }

  private static String incarnation(FakeCluster c) {
    return Leases.annotation(c.server.lease("node-node1"), Leases.INCARNATION);
  }

  @Test
  void closeWritesTheReleaseOnlyOnceTheListenerHasStopped() {
    Member[] m = twoNodes(101, 20);
    Member a = m[0];
    Member b = m[1];
    String inc = incarnation(cluster);
    a.listener.stopGate = new CompletableFuture<>();
    a.elector.close();
    cluster.sched.advanceMillis(300); // the datapath is still withdrawing
    assertEquals(inc, incarnation(cluster), "no release before the listener stopped");
    assertTrue(b.listener.ownedNow().size() < 20, "the peer took nothing yet");
    assertEquals(1, a.listener.lostAllCalls, "one batch for every VIP lost");
    a.listener.stopGate.complete(null);
    long t =
        cluster.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(2));
    assertTrue(t < 30 * MS, "handover after the stop took " + t / MS + " ms");
    assertEquals(
        Leases.STATE_STOPPED, Leases.annotation(cluster.server.lease("node-node1"), Leases.STATE));
  }

  @Test
  void unhealthyWritesTheReleaseOnlyOnceTheListenerHasStopped() {
    Member[] m = twoNodes(102, 20);
    Member a = m[0];
    Member b = m[1];
    String inc = incarnation(cluster);
    a.listener.stopGate = new CompletableFuture<>();
    a.elector.setHealthy(false);
    cluster.sched.advanceMillis(300);
    assertEquals(inc, incarnation(cluster));
    assertTrue(b.listener.ownedNow().size() < 20);
    a.listener.stopGate.complete(null);
    cluster.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(2));
  }

  @Test
  void candidacyWithdrawalWritesTheReleaseOnlyOnceTheListenerHasStopped() {
    Member[] m = twoNodes(103, 10);
    Member a = m[0];
    Member b = m[1];
    String v = a.listener.ownedNow().iterator().next();
    String name = VipAddress.parse(v).leaseName();
    Set<String> less = new HashSet<>(FakeCluster.vips(10));
    less.remove(v);
    a.listener.stopGate = new CompletableFuture<>();
    a.elector.setCandidacy(less);
    cluster.sched.advanceMillis(300);
    assertEquals("node1", Leases.holder(cluster.server.lease(name)), "not released yet");
    assertFalse(b.listener.ownedNow().contains(v));
    a.listener.stopGate.complete(null);
    long t =
        cluster.sched.advanceUntil(() -> b.listener.ownedNow().contains(v), Duration.ofSeconds(2));
    assertTrue(t < 30 * MS, "release after the stop took " + t / MS + " ms");
  }

  @Test
  void aListenerThatNeverConfirmsDelaysTheHandoverOnlyUntilTheDeadline() {
    Member[] m = twoNodes(104, 20);
    Member a = m[0];
    Member b = m[1];
    a.listener.stopGate = new CompletableFuture<>(); // never completes
    long start = cluster.sched.nanoTime();
    a.elector.close();
    long t =
        cluster.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(3));
    // the ledger (checked after each test) proves no acquisition before node1's deadline
    assertTrue(t <= 1100 * MS, "handover took " + t / MS + " ms");
    assertTrue(cluster.sched.nanoTime() - start > 0);
  }
}
