package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A peer that lapsed during an API outage and never came back must still lapse (and be fenced)
 * after the lapse clocks restart when this node's API access recovers. Found by the simulator
 * (sim-findings.md: "lapse check lost on resync", seeds 452, 955).
 */
class LapseAfterResyncTest {
  private FakeCluster cluster;

  @AfterEach
  void noDualOwners() {
    assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
  }

  @Test
  void aPeerThatLapsedDuringAnOutageAndDiedIsFencedAfterTheApiReturns() {
    cluster = new FakeCluster(91);
    FakeCluster c = cluster;
    Set<String> vips = FakeCluster.vips(20);
    c.start("node1", vips);
    Member b = c.start("node2", vips);
    c.sched.advance(Duration.ofSeconds(15));
    c.server.setDown(true); // both lapse in each other's view; nobody can fence
    c.sched.advance(Duration.ofSeconds(3));
    c.kill("node1"); // and node1 never comes back
    c.server.setDown(false);
    c.sched.advanceUntil(() -> b.listener.ownedNow().size() == 20, Duration.ofSeconds(10));
  }
}
