package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The owner is a separate JVM: SIGKILL (peers take over after its deadline) and SIGTERM. */
@ExtendWith(LabExtension.class)
class ElectionCrashIT {

  @Test
  void sigkilledOwnersVipsAreTakenOverAfterItsDeadline(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(10, 4);
    try (LabNamespace ns = new LabNamespace(lab, "election-kill");
        ElectorProcess p =
            ElectorProcess.start(lab.kubeconfig(), ns.name, "node1", vips, timeline)) {
      LabNamespace.await(
          "node1 owns every VIP", Duration.ofSeconds(30), () -> p.ownedNow().equals(vips));
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      LabElector c = new LabElector(cfg, ns.client, "node3", timeline).start(vips);
      LabNamespace.await(
          "peers see node1",
          Duration.ofSeconds(10),
          () ->
              b.elector.owners().size() == vips.size() && c.elector.owners().size() == vips.size());
      Thread.sleep(1500);
      assertTrue(b.ownedNow().isEmpty() && c.ownedNow().isEmpty(), "sticky");

      long killedAt = System.nanoTime();
      p.kill();
      LabNamespace.await(
          "peers own every VIP",
          Duration.ofSeconds(20),
          () -> ElectionNodesIT.ownership(List.of(b, c)).size() == vips.size());
      Map<String, Long> failover = new HashMap<>();
      for (String v : vips) {
        failover.put(v, timeline.firstAcquiredAfter(v, "node1", killedAt) - killedAt);
      }
      System.out.printf(
          "failover after SIGKILL: min %.0f ms, max %.0f ms%n",
          failover.values().stream().mapToLong(x -> x).min().orElseThrow() / 1e6,
          failover.values().stream().mapToLong(x -> x).max().orElseThrow() / 1e6);
      assertFalse(b.ownedNow().isEmpty() || c.ownedNow().isEmpty(), "spread over both peers");
      // counted when the fence's response arrives, which the watch event of the fence may overtake
      LabNamespace.await(
          "a peer counted its fence",
          Duration.ofSeconds(5),
          () -> b.elector.metrics().fences() + c.elector.metrics().fences() >= 1);
      b.close();
      c.close();
      assertEquals(List.of(), timeline.violations());
    }
  }

  @Test
  void sigtermedOwnerHandsOverAtOnce(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(10, 4);
    try (LabNamespace ns = new LabNamespace(lab, "election-term");
        ElectorProcess p =
            ElectorProcess.start(lab.kubeconfig(), ns.name, "node1", vips, timeline)) {
      LabNamespace.await(
          "node1 owns every VIP", Duration.ofSeconds(30), () -> p.ownedNow().equals(vips));
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      LabNamespace.await(
          "node2 sees node1",
          Duration.ofSeconds(10),
          () -> b.elector.owners().size() == vips.size());
      Thread.sleep(1500); // past node2's startup grace: measure the handover alone
      long termAt = System.nanoTime();
      p.terminate();
      LabNamespace.await(
          "node2 owns every VIP", Duration.ofSeconds(10), () -> b.ownedNow().equals(vips));
      long last =
          vips.stream()
              .mapToLong(v -> timeline.firstAcquiredAfter(v, "node1", termAt) - termAt)
              .max()
              .orElseThrow();
      System.out.printf("handover after SIGTERM: %.0f ms%n", last / 1e6);
      assertEquals(0, b.elector.metrics().fences(), "a planned move needs no fencing");
      b.close();
      assertEquals(List.of(), timeline.violations(), () -> p.stdout() + "\nSTDERR:\n" + p.stderr());
    }
  }
}
