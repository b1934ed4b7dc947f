package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.ElectionListener.LossReason;
import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Planned moves on the lab API server: shutdown, loss of health, candidacy withdrawn. */
@ExtendWith(LabExtension.class)
class ElectionHandoverIT {

  @Test
  void closeHandsEveryVipToThePeer(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(16, 4);
    try (LabNamespace ns = new LabNamespace(lab, "election-close")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector a = new LabElector(cfg, ns.client, "node1", timeline).start(vips);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      LabNamespace.await(
          "every VIP owned",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(List.of(a, b)).size() == vips.size());
      Set<String> aVips = a.ownedNow();
      assertFalse(aVips.isEmpty());
      long closedAt = System.nanoTime();
      a.close();
      LabNamespace.await(
          "node2 owns every VIP", Duration.ofSeconds(10), () -> b.ownedNow().equals(vips));
      assertEquals(aVips.size(), a.losses(LossReason.SHUTDOWN));
      for (String v : aVips) {
        long lostAt =
            timeline.events().stream()
                .filter(e -> e.type().equals("lost") && e.vip().equals(v) && e.t() >= closedAt)
                .mapToLong(Timeline.Event::t)
                .min()
                .orElseThrow();
        assertTrue(lostAt <= timeline.firstAcquiredAfter(v, "node1", closedAt));
      }
      assertEquals(0, b.elector.metrics().fences(), "a planned move needs no fencing");
      assertEquals(
          "stopped",
          ns.lease("node-node1").getMetadata().getAnnotations().get("vipgress.dev/state"));
      b.close();
      assertEquals(List.of(), timeline.violations());
    }
  }

  @Test
  void unhealthyNodeHandsOverAtOnceAndNothingMovesBack(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(16, 4);
    try (LabNamespace ns = new LabNamespace(lab, "election-unhealthy")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector a = new LabElector(cfg, ns.client, "node1", timeline).start(vips);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      LabNamespace.await(
          "every VIP owned",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(List.of(a, b)).size() == vips.size());
      int aCount = a.ownedNow().size();
      assertTrue(aCount > 0);
      a.elector.setHealthy(false);
      LabNamespace.await(
          "node2 owns every VIP", Duration.ofSeconds(10), () -> b.ownedNow().equals(vips));
      assertEquals(aCount, a.losses(LossReason.UNHEALTHY));
      assertEquals(
          "false",
          ns.lease("node-node1").getMetadata().getAnnotations().get("vipgress.dev/eligible"));
      LabNamespace.await(
          "node2 sees node1 ineligible",
          Duration.ofSeconds(5),
          () -> b.elector.metrics().eligibleNodes() == 1);

      a.elector.setHealthy(true);
      LabNamespace.await(
          "node1 eligible again",
          Duration.ofSeconds(5),
          () -> b.elector.metrics().eligibleNodes() == 2);
      Thread.sleep(3000);
      assertEquals(vips, b.ownedNow(), "sticky: nothing moves back");
      assertTrue(a.ownedNow().isEmpty());

      // and a node that becomes ineligible when its peer is the one that stops
      b.close();
      LabNamespace.await(
          "node1 owns every VIP", Duration.ofSeconds(10), () -> a.ownedNow().equals(vips));
      a.close();
      assertEquals(List.of(), timeline.violations());
    }
  }

  @Test
  void vipWithdrawnFromCandidacyIsReleasedToAPeer(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(6, 2);
    try (LabNamespace ns = new LabNamespace(lab, "election-candidacy")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector a = new LabElector(cfg, ns.client, "node1", timeline).start(vips);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      LabNamespace.await(
          "every VIP owned",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(List.of(a, b)).size() == vips.size());
      LabElector owner = a.ownedNow().isEmpty() ? b : a;
      LabElector other = owner == a ? b : a;
      String v = owner.ownedNow().iterator().next();
      Set<String> less = new HashSet<>(vips);
      less.remove(v);
      owner.elector.setCandidacy(less);
      LabNamespace.await(
          "the peer takes " + v, Duration.ofSeconds(10), () -> other.ownedNow().contains(v));
      assertEquals(1, owner.losses(LossReason.CANDIDACY));
      assertEquals(
          other.node, ns.lease(VipAddress.parse(v).leaseName()).getSpec().getHolderIdentity());
      a.close();
      b.close();
      assertEquals(List.of(), timeline.violations());
    }
  }
}
