package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Five electors that all claim every free VIP at once: 409s, and one owner per VIP. */
@ExtendWith(LabExtension.class)
class ElectionConflictsIT {

  @Test
  void racingClaimsEndWithOneOwnerPerVip(Lab lab) throws Exception {
    Timeline timeline = new Timeline();
    Set<String> vips = ElectionNodesIT.vips(40, 10);
    try (LabNamespace ns = new LabNamespace(lab, "election-races")) {
      ElectionConfig cfg =
          ElectionConfig.builder(ns.name)
              .placementStagger(Duration.ZERO)
              .placementFallback(Duration.ZERO)
              .startupGrace(Duration.ofMillis(1500))
              .build();
      List<LabElector> all = new ArrayList<>();
      for (int i = 1; i <= 5; i++) {
        all.add(new LabElector(cfg, ns.client, "node" + i, timeline));
      }
      // the IPv4 VIPs have released Leases (claims race on updates of them); the IPv6 ones have
      // none (their first owners come from a genesis Lease, which the electors race to create)
      for (String v : vips) {
        VipAddress a = VipAddress.parse(v);
        if (!a.ipv6()) {
          V1Lease l = Leases.newLease(ns.name, a.leaseName(), Leases.KIND_VIP);
          l.getMetadata().getAnnotations().put(Leases.VIP, a.literal());
          l.getSpec().leaseDurationSeconds(1);
          new CoordinationV1Api(ns.client).createNamespacedLease(ns.name, l).execute();
        }
      }
      all.forEach(e -> e.start(vips));
      LabNamespace.await(
          "every VIP owned",
          Duration.ofSeconds(30),
          () -> ElectionNodesIT.ownership(all).size() == vips.size());
      Thread.sleep(1000);
      Map<String, String> own = ElectionNodesIT.ownership(all);
      long conflicts = all.stream().mapToLong(e -> e.elector.metrics().conflicts()).sum();
      System.out.println("conflicts: " + conflicts);
      assertTrue(conflicts > 0, "the electors did race");
      for (var l : ns.leases()) {
        VipAddress vip = VipAddress.fromLeaseName(l.getMetadata().getName());
        if (vip != null) {
          assertEquals(own.get(vip.literal()), l.getSpec().getHolderIdentity());
        }
      }
      for (LabElector e : all) {
        assertEquals(own, e.elector.owners(), e.node);
      }
      for (LabElector e : all) {
        e.close();
      }
      assertEquals(List.of(), timeline.violations());
    }
  }
}
