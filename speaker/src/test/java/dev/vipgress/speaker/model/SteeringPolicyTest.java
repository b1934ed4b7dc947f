package dev.vipgress.speaker.model;

import static dev.vipgress.speaker.model.PlannerTest.ip;
import static dev.vipgress.speaker.model.PlannerTest.l2;
import static dev.vipgress.speaker.model.PlannerTest.svc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.Steer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Direct next hop or VXLAN, per owner node. */
class SteeringPolicyTest {
  static final NodeInfo NODE1 =
      new NodeInfo("node1", List.of("192.168.100.11", "fd76:100::11"), true, Map.of());
  static final NodeInfo NODE4 =
      new NodeInfo("node4", List.of("192.168.101.14", "fd76:101::14"), true, Map.of());
  static final NodeInfo V6ONLY = new NodeInfo("v6", List.of("fd76:100::15"), true, Map.of());
  static final Map<String, NodeInfo> NODES = Map.of("node1", NODE1, "node4", NODE4);
  static final String VIP = "192.168.100.200";
  static final String VIP6 = "fd76:100::200";

  /** node4's uplink: 192.168.101.14/24 and fd76:101::14/64. */
  static final List<Cidr> NODE4_SUBNETS =
      List.of(Cidr.parse("192.168.101.14/24"), Cidr.parse("fd76:101::14/64"));

  static SteeringPolicy auto(List<Cidr> subnets) {
    return new SteeringPolicy(SteeringPolicy.Mode.AUTO, subnets);
  }

  @Test
  void autoIsDirectInsideAnUplinkSubnetAndVxlanOutside() {
    SteeringPolicy p = auto(NODE4_SUBNETS);
    assertFalse(p.direct(NODE1), "192.168.100.11 is outside 192.168.101.0/24");
    assertTrue(p.direct(NODE4), "same segment");
    assertTrue(auto(List.of(Cidr.parse("192.168.100.0/24"))).direct(NODE1));
    // IPv4 decides for both families; an IPv6-only owner is placed by its IPv6 address
    assertFalse(auto(List.of(Cidr.parse("fd76:100::/64"))).direct(NODE1));
    assertTrue(auto(List.of(Cidr.parse("fd76:100::/64"))).direct(V6ONLY));
    assertTrue(auto(List.of()).direct(NODE1), "nothing known about the uplink: direct");
  }

  @Test
  void forcedModesIgnoreTheSubnets() {
    assertTrue(new SteeringPolicy(SteeringPolicy.Mode.DIRECT, NODE4_SUBNETS).direct(NODE1));
    assertFalse(new SteeringPolicy(SteeringPolicy.Mode.VXLAN, NODE4_SUBNETS).direct(NODE4));
  }

  @Test
  void modeParsingNamesTheChoices() {
    assertEquals(SteeringPolicy.Mode.VXLAN, SteeringPolicy.Mode.parse(" VXLAN "));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SteeringPolicy.Mode.parse("ipip"));
    assertTrue(e.getMessage().contains("auto, direct or vxlan"), e.getMessage());
  }

  private static Plan plan(String vip, String pod) {
    return PlannerTest.plan(
        PlannerTest.view(
            List.of(svc("web", l2(true), vip)),
            Map.of(
                "web",
                List.of(
                    new EndpointInfo(pod, "node4"),
                    new EndpointInfo(
                        vip.contains(":") ? "fd76:244:1::2" : "10.244.1.2", "node1")))));
  }

  @Test
  void aBackendOnAnotherSegmentIsSteeredThroughTheTunnelToTheOwnersIpv4() {
    var r =
        EgressPlanner.desired(
            plan(VIP, "10.244.4.2"),
            "node4",
            Map.of(VIP, "node1"),
            NODES,
            PlannerTest.RANGES,
            Map.of(),
            auto(NODE4_SUBNETS));
    Steer s = r.desired().steering().get(ip("10.244.4.2"));
    assertEquals(ip("192.168.100.11"), s.ownerNextHop());
    assertEquals(ip("192.168.100.11"), s.tunnelEndpoint());
    assertTrue(r.problems().isEmpty());

    var r6 =
        EgressPlanner.desired(
            plan(VIP6, "fd76:244:4::2"),
            "node4",
            Map.of(VIP6, "node1"),
            NODES,
            PlannerTest.RANGES,
            Map.of(),
            auto(NODE4_SUBNETS));
    Steer s6 = r6.desired().steering().get(ip("fd76:244:4::2"));
    assertEquals(ip("fd76:100::11"), s6.ownerNextHop(), "inner next hop of the pod's family");
    assertEquals(ip("192.168.100.11"), s6.tunnelEndpoint(), "outer: the owner's IPv4");
  }

  @Test
  void aBackendOnTheOwnersSegmentIsSteeredDirectly() {
    var r =
        EgressPlanner.desired(
            plan(VIP, "10.244.4.2"),
            "node4",
            Map.of(VIP, "node1"),
            NODES,
            PlannerTest.RANGES,
            Map.of(),
            auto(List.of(Cidr.parse("192.168.100.14/24"))));
    Steer s = r.desired().steering().get(ip("10.244.4.2"));
    assertNull(s.tunnelEndpoint());
    assertEquals(ip("192.168.100.11"), s.ownerNextHop());
  }

  @Test
  void anOwnerWithoutIpv4CannotBeTunnelledToAndIsReported() {
    Map<String, NodeInfo> nodes = Map.of("v6", V6ONLY, "node4", NODE4);
    var r =
        EgressPlanner.desired(
            plan(VIP6, "fd76:244:4::2"),
            "node4",
            Map.of(VIP6, "v6"),
            nodes,
            PlannerTest.RANGES,
            Map.of(),
            auto(NODE4_SUBNETS));
    assertTrue(r.desired().steering().isEmpty(), "not steered: " + r.desired().steering());
    assertEquals(1, r.problems().size());
    assertEquals("OwnerUnreachable", r.problems().get(0).reason());
    assertTrue(r.problems().get(0).message().contains("IPv4 InternalIP"));
  }
}
