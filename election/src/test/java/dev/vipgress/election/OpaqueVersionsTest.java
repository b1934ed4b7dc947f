package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Resource versions are opaque: the elector must work when they are unordered numbers, and when
 * responses overtake the watch (it never orders them, it waits for the watch to echo its writes).
 */
class OpaqueVersionsTest {
  private FakeCluster cluster;

  @AfterEach
  void noDualOwners() {
    assertTrue(cluster.ledger.violations.isEmpty(), () -> cluster.ledger.violations.toString());
  }

  @Test
  void unorderedResourceVersionsStillGiveOneAgreedOwnerPerVipThroughAFailover() {
    cluster = new FakeCluster(61);
    FakeCluster c = cluster;
    c.server.opaqueVersions = true;
    c.server.watchLatencyMillis = 6; // responses (2 ms) overtake the watch
    Set<String> vips = FakeCluster.vips(120);
    c.start("node1", vips);
    c.start("node2", vips);
    c.start("node3", vips);
    c.sched.advance(Duration.ofSeconds(20)); // genesis, then every VIP Lease written
    Map<String, String> own = c.ownership();
    assertEquals(120, own.size());
    for (Member m : c.members.values()) {
      assertEquals(own, m.elector.owners(), m.node + "'s view");
    }
    c.kill("node1");
    c.sched.advanceUntil(() -> c.ownership().size() == 120, Duration.ofSeconds(3));
    c.sched.advance(Duration.ofSeconds(20)); // the heirs adopt the VIP Leases
    Map<String, String> after = c.ownership();
    assertFalse(after.containsValue("node1"));
    for (String n : c.liveNodes()) {
      assertEquals(after, c.member(n).elector.owners(), n + "'s view");
    }
    for (Map.Entry<String, String> e : after.entrySet()) {
      assertEquals(
          e.getValue(),
          Leases.holder(c.server.lease(VipAddress.parse(e.getKey()).leaseName())),
          e.getKey());
    }
  }
}
