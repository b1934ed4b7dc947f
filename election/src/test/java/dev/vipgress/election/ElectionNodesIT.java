package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two, then three electors on the lab API server: one owner per VIP, spread, no moves on join. */
@ExtendWith(LabExtension.class)
class ElectionNodesIT {

  static Set<String> vips(int v4, int v6) {
    Set<String> s = new HashSet<>();
    for (int i = 1; i <= v4; i++) {
      s.add("192.168.100." + (100 + i));
    }
    for (int i = 1; i <= v6; i++) {
      s.add("fd76:100::" + Integer.toHexString(0x200 + i));
    }
    return s;
  }

  static Map<String, String> ownership(List<LabElector> electors) {
    Map<String, String> out = new HashMap<>();
    for (LabElector e : electors) {
      for (String v : e.ownedNow()) {
        String prev = out.put(v, e.node);
        if (prev != null) {
          throw new AssertionError(v + " owned by " + prev + " and " + e.node);
        }
      }
    }
    return out;
  }

  @Test
  void twoThenThreeElectors(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = vips(20, 10);
    try (LabNamespace ns = new LabNamespace(lab, "election-nodes")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector a = new LabElector(cfg, ns.client, "node1", timeline).start(vips);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      List<LabElector> two = List.of(a, b);
      LabNamespace.await(
          "every VIP owned", Duration.ofSeconds(30), () -> ownership(two).size() == vips.size());
      Map<String, String> own = ownership(two);
      assertTrue(a.ownedNow().size() >= 7 && b.ownedNow().size() >= 7, own::toString);
      LabNamespace.await(
          "both see the same owners",
          Duration.ofSeconds(10),
          () -> a.elector.owners().equals(own) && b.elector.owners().equals(own));

      // the genesis Lease gave the VIPs their first owners; the owners then write the VIP Leases
      ns.awaitVipLeasesWritten(vips.size());
      assertEquals(own, ownership(two), "writing the VIP Leases moved nothing");
      List<V1Lease> leases = ns.leases();
      int vipLeases = 0;
      for (V1Lease l : leases) {
        assertEquals("vipgress", l.getMetadata().getLabels().get("app.kubernetes.io/managed-by"));
        VipAddress vip = VipAddress.fromLeaseName(l.getMetadata().getName());
        if (vip != null) {
          vipLeases++;
          assertEquals(own.get(vip.literal()), l.getSpec().getHolderIdentity());
          assertEquals(vip.literal(), l.getMetadata().getAnnotations().get("vipgress.dev/vip"));
        }
      }
      assertEquals(vips.size(), vipLeases);
      assertEquals("node1", ns.lease("node-node1").getSpec().getHolderIdentity());
      assertEquals("node2", ns.lease("node-node2").getSpec().getHolderIdentity());

      LabElector c = new LabElector(cfg, ns.client, "node3", timeline).start(vips);
      LabNamespace.await(
          "node3 seen live",
          Duration.ofSeconds(10),
          () -> a.elector.metrics().liveNodes() == 3 && c.elector.metrics().liveNodes() == 3);
      Thread.sleep(3000);
      assertEquals(own, ownership(List.of(a, b, c)), "a joining node moves nothing");
      assertTrue(c.ownedNow().isEmpty());
      for (LabElector e : List.of(a, b, c)) {
        e.close();
      }
      assertEquals(List.of(), timeline.violations());
    }
  }

  @Test
  void threeElectorsStartedTogetherSpreadEvenly(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = vips(60, 30);
    try (LabNamespace ns = new LabNamespace(lab, "election-three")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      List<LabElector> all =
          List.of(
              new LabElector(cfg, ns.client, "node1", timeline),
              new LabElector(cfg, ns.client, "node2", timeline),
              new LabElector(cfg, ns.client, "node3", timeline));
      all.forEach(e -> e.start(vips));
      LabNamespace.await(
          "every VIP owned", Duration.ofSeconds(30), () -> ownership(all).size() == vips.size());
      for (LabElector e : all) {
        assertTrue(e.ownedNow().size() >= 15, () -> e.node + ": " + ownership(all));
      }
      for (LabElector e : all) {
        e.close();
      }
      assertEquals(List.of(), timeline.violations());
    }
  }
}
