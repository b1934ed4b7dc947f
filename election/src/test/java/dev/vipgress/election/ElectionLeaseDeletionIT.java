package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Leases deleted by hand (kubectl delete lease): they come back and nothing moves. */
@ExtendWith(LabExtension.class)
class ElectionLeaseDeletionIT {

  @Test
  void deletedLeasesAreRecreatedAndTheOwnersStay(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(8, 2);
    try (LabNamespace ns = new LabNamespace(lab, "election-delete")) {
      ElectionConfig cfg = ElectionConfig.defaults(ns.name);
      LabElector a = new LabElector(cfg, ns.client, "node1", timeline).start(vips);
      LabElector b = new LabElector(cfg, ns.client, "node2", timeline).start(vips);
      List<LabElector> both = List.of(a, b);
      LabNamespace.await(
          "every VIP owned",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(both).size() == vips.size());
      ns.awaitVipLeasesWritten(vips.size());
      Map<String, String> before = ElectionNodesIT.ownership(both);
      String v =
          a.ownedNow().isEmpty() ? b.ownedNow().iterator().next() : a.ownedNow().iterator().next();
      String lease = VipAddress.parse(v).leaseName();

      ns.deleteLease(lease);
      LabNamespace.await(
          "the VIP Lease is back",
          Duration.ofSeconds(10),
          () -> {
            try {
              return ns.lease(lease) != null;
            } catch (Exception e) {
              return false;
            }
          });
      assertEquals(before.get(v), ns.lease(lease).getSpec().getHolderIdentity());

      String inc =
          ns.lease("node-node1").getMetadata().getAnnotations().get("vipgress.dev/incarnation");
      ns.deleteLease("node-node1");
      LabNamespace.await(
          "the node Lease is back",
          Duration.ofSeconds(10),
          () -> {
            try {
              return ns.lease("node-node1") != null;
            } catch (Exception e) {
              return false;
            }
          });
      assertNotNull(ns.lease("node-node1"));
      // its history (fence, handoffs) went with it: it starts over under a new incarnation, and
      // placement (previous holder first) gives node1 its VIPs back
      assertNotEquals(
          inc,
          ns.lease("node-node1").getMetadata().getAnnotations().get("vipgress.dev/incarnation"));
      LabNamespace.await(
          "the same owners again",
          Duration.ofSeconds(10),
          () -> before.equals(ElectionNodesIT.ownership(both)));
      assertEquals(
          a.losses.values().stream().mapToInt(Integer::intValue).sum(),
          a.losses.getOrDefault(ElectionListener.LossReason.FENCED, 0));
      assertEquals(0, b.losses.values().stream().mapToInt(Integer::intValue).sum());
      a.close();
      b.close();
      assertEquals(List.of(), timeline.violations());
    }
  }
}
