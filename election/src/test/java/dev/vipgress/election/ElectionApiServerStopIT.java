package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.ElectionListener.LossReason;
import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The API server stopped (SIGSTOP of its PID, from the lab's status) for longer than the lease:
 * every owner lets go at its deadline; after SIGCONT the same owners come back, nobody fences.
 */
@ExtendWith(LabExtension.class)
class ElectionApiServerStopIT {

  @Test
  void ownersLetGoAtTheirDeadlineAndComeBackWithoutMoves(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(12, 4);
    try (LabNamespace ns = new LabNamespace(lab, "election-apistop")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector a = new LabElector(cfg, ns.client, "node1", timeline).start(vips);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      List<LabElector> both = List.of(a, b);
      LabNamespace.await(
          "every VIP owned",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(both).size() == vips.size());
      Thread.sleep(1000);
      Map<String, String> before = ElectionNodesIT.ownership(both);

      long pid = lab.status().path("processes").path("kube-apiserver").asLong();
      assertTrue(pid > 1, "kube-apiserver PID in lab status");
      signal("STOP", pid);
      try {
        LabNamespace.await(
            "every owner lets go",
            Duration.ofSeconds(5),
            () -> ElectionNodesIT.ownership(both).isEmpty());
        Thread.sleep(2000);
      } finally {
        signal("CONT", pid);
      }
      LabNamespace.await(
          "ownership back",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(both).size() == vips.size());
      Thread.sleep(3000);
      assertEquals(before, ElectionNodesIT.ownership(both), "the same owners, no flapping");
      for (LabElector e : both) {
        assertEquals(0, e.elector.metrics().fences(), e.node + " fenced its peer");
        assertEquals(0, e.losses(LossReason.FENCED) + e.losses(LossReason.TAKEN));
        assertTrue(e.ownedNow().isEmpty() || e.losses(LossReason.DEADLINE) > 0);
      }
      a.close();
      b.close();
      assertEquals(List.of(), timeline.violations());
    }
  }

  static void signal(String sig, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
    assertEquals(0, p.waitFor());
  }
}
