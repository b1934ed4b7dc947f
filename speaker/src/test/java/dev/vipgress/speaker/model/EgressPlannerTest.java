package dev.vipgress.speaker.model;

import static dev.vipgress.speaker.model.PlannerTest.ip;
import static dev.vipgress.speaker.model.PlannerTest.l2;
import static dev.vipgress.speaker.model.PlannerTest.svc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.OwnedVip;
import dev.vipgress.nat.Steer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EgressPlannerTest {
  static final Map<String, NodeInfo> NODES =
      Map.of(
          "node1", new NodeInfo("node1", List.of("192.168.100.11", "fd76:100::11"), true, Map.of()),
          "node2",
              new NodeInfo("node2", List.of("192.168.100.12", "fd76:100::12"), true, Map.of()));
  static final String VIP = "192.168.100.200";

  static Plan plan() {
    return PlannerTest.plan(
        PlannerTest.view(
            List.of(svc("web", l2(true), VIP)),
            Map.of(
                "web",
                List.of(
                    new EndpointInfo("10.244.1.2", "node1"),
                    new EndpointInfo("10.244.2.2", "node2")))));
  }

  @Test
  void ownerSnatsEveryBackendAndSteersNothing() {
    NodeDesired d =
        EgressPlanner.desired(
                plan(),
                "node1",
                Map.of(VIP, "node1"),
                NODES,
                PlannerTest.RANGES,
                Map.of(ip(VIP), 42L))
            .desired();
    assertEquals(
        Set.of(new OwnedVip(ip(VIP), Set.of(ip("10.244.1.2"), ip("10.244.2.2")), 42L, Set.of())),
        d.owned());
    assertTrue(d.steering().isEmpty());
    assertTrue(
        d.clusterRanges().contains(Cidr.parse("192.168.100.12/32")), "node IPs are cluster ranges");
    assertTrue(d.clusterRanges().contains(Cidr.parse("10.244.0.0/16")));
  }

  @Test
  void nonOwnerSteersOnlyItsLocalBackendsToTheOwner() {
    NodeDesired d =
        EgressPlanner.desired(
                plan(), "node2", Map.of(VIP, "node1"), NODES, PlannerTest.RANGES, Map.of())
            .desired();
    assertTrue(d.owned().isEmpty());
    assertEquals(
        Map.of(ip("10.244.2.2"), new Steer("node1", ip("192.168.100.11"), ip(VIP))), d.steering());
  }

  @Test
  void podOfTwoEgressVipsUsesTheLowestAndIsReported() {
    Plan p =
        PlannerTest.plan(
            PlannerTest.view(
                List.of(
                    svc("a", l2(true), "192.168.100.201"), svc("b", l2(true), "192.168.100.200")),
                Map.of(
                    "a", List.of(new EndpointInfo("10.244.1.2", "node1")),
                    "b", List.of(new EndpointInfo("10.244.1.2", "node1")))));
    var r =
        EgressPlanner.desired(
            p,
            "node1",
            Map.of(),
            NODES,
            PlannerTest.RANGES,
            Map.of(ip("192.168.100.200"), 1L, ip("192.168.100.201"), 1L));
    for (OwnedVip o : r.desired().owned()) {
      assertEquals(
          o.vip().equals(ip("192.168.100.200")) ? Set.of(ip("10.244.1.2")) : Set.of(),
          o.backends());
    }
    assertEquals(1, r.problems().size());
    assertEquals("BackendInTwoEgressVips", r.problems().get(0).reason());
  }

  @Test
  void noOwnerYetMeansNoSteeringAndNoFailure() {
    NodeDesired d =
        EgressPlanner.desired(plan(), "node2", Map.of(), NODES, PlannerTest.RANGES, Map.of())
            .desired();
    assertTrue(d.owned().isEmpty());
    assertTrue(d.steering().isEmpty());
  }

  @Test
  void localBackendsAreHeldClosedWhateverTheOwnership() {
    for (Map<String, String> owners : List.of(Map.<String, String>of(), Map.of(VIP, "node1"))) {
      NodeDesired d =
          EgressPlanner.desired(plan(), "node2", owners, NODES, PlannerTest.RANGES, Map.of())
              .desired();
      assertEquals(Map.of(ip("10.244.2.2"), Set.of()), d.egressBackends(), "owners " + owners);
    }
    NodeDesired owner =
        EgressPlanner.desired(
                plan(),
                "node1",
                Map.of(VIP, "node1"),
                NODES,
                PlannerTest.RANGES,
                Map.of(ip(VIP), 42L))
            .desired();
    assertEquals(Map.of(ip("10.244.1.2"), Set.of()), owner.egressBackends(), "only local pods");
  }

  @Test
  void neverSteersToItselfWhenTheOwnersViewNamesThisNodeWithoutADeadline() {
    // the lab's `route replace default via <its own address>`: the owners view said this node,
    // but it held no deadline for the VIP; its backends stay held closed instead
    NodeDesired d =
        EgressPlanner.desired(
                plan(), "node2", Map.of(VIP, "node2"), NODES, PlannerTest.RANGES, Map.of())
            .desired();
    assertTrue(d.steering().isEmpty(), d.steering().toString());
    assertTrue(d.owned().isEmpty());
    assertEquals(Set.of(ip("10.244.2.2")), d.egressBackends().keySet());
  }

  @Test
  void ipv6OwnersAreMatchedByTheirCanonicalText() {
    // the elector names VIPs in RFC 5952 form; the plan must use the same text
    Plan p =
        PlannerTest.plan(
            PlannerTest.view(
                List.of(svc("v6", l2(true), "fd76:100:0:0:0:0:0:200")),
                Map.of("v6", List.of(new EndpointInfo("fd76:244:2::2", "node2")))));
    NodeDesired d =
        EgressPlanner.desired(
                p, "node2", Map.of("fd76:100::200", "node1"), NODES, PlannerTest.RANGES, Map.of())
            .desired();
    assertEquals(
        Map.of(ip("fd76:244:2::2"), new Steer("node1", ip("fd76:100::11"), ip("fd76:100::200"))),
        d.steering());
  }
}
