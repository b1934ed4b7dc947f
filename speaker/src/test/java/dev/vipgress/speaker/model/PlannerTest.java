package dev.vipgress.speaker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.nat.Cidr;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlannerTest {
  static final List<Cidr> RANGES = List.of(Cidr.parse("10.244.0.0/16"), Cidr.parse("10.96.0.0/12"));

  static ServiceInfo svc(String name, Map<String, String> labels, String... ips) {
    return new ServiceInfo(new ServiceKey("default", name), "LoadBalancer", labels, List.of(ips));
  }

  static Map<String, String> l2(boolean egress) {
    return egress
        ? Map.of(Labels.ANNOUNCE, "l2", Labels.EGRESS, "true")
        : Map.of(Labels.ANNOUNCE, "l2");
  }

  static ClusterView view(List<ServiceInfo> services, Map<String, List<EndpointInfo>> eps) {
    Map<ServiceKey, ServiceInfo> s = new HashMap<>();
    services.forEach(x -> s.put(x.key(), x));
    Map<ServiceKey, List<EndpointInfo>> e = new HashMap<>();
    eps.forEach((k, v) -> e.put(new ServiceKey("default", k), v));
    return new ClusterView(s, e, Map.of());
  }

  static Plan plan(ClusterView v) {
    return Planner.plan(v, RANGES, Set.of(Mode.L2));
  }

  static InetAddress ip(String s) {
    return IpLiteral.parse(s).orElseThrow();
  }

  @Test
  void egressServiceYieldsVipWithAllBackends() {
    Plan p =
        plan(
            view(
                List.of(svc("web", l2(true), "192.168.100.200")),
                Map.of(
                    "web",
                    List.of(
                        new EndpointInfo("10.244.1.2", "node1"),
                        new EndpointInfo("10.244.2.2", "node2"),
                        new EndpointInfo("fd76:244:1::2", "node1")))));
    VipSpec v = p.vips().get(ip("192.168.100.200"));
    assertEquals(Mode.L2, v.mode());
    assertTrue(v.egress());
    assertEquals(
        Set.of(new Backend(ip("10.244.1.2"), "node1"), new Backend(ip("10.244.2.2"), "node2")),
        v.backends(),
        "IPv6 endpoints do not back an IPv4 VIP");
    assertTrue(p.problems().isEmpty(), p.problems().toString());
  }

  @Test
  void announceOnlyHasNoBackends() {
    Plan p =
        plan(
            view(
                List.of(svc("web", l2(false), "192.168.100.200")),
                Map.of("web", List.of(new EndpointInfo("10.244.1.2", "node1")))));
    VipSpec v = p.vips().get(ip("192.168.100.200"));
    assertFalse(v.egress());
    assertTrue(v.backends().isEmpty());
  }

  @Test
  void twoServicesShareOneVip() {
    Plan p =
        plan(
            view(
                List.of(
                    svc("a", l2(true), "192.168.100.200"), svc("b", l2(false), "192.168.100.200")),
                Map.of(
                    "a", List.of(new EndpointInfo("10.244.1.2", "node1")),
                    "b", List.of(new EndpointInfo("10.244.1.3", "node1")))));
    assertEquals(1, p.vips().size());
    VipSpec v = p.vips().get(ip("192.168.100.200"));
    assertEquals(2, v.services().size());
    assertTrue(v.egress());
    assertEquals(
        Set.of(new Backend(ip("10.244.1.2"), "node1")),
        v.backends(),
        "only egress Services' backends");
  }

  @Test
  void badServicesAreReportedAndSkippedWithoutHarmingOthers() {
    ServiceInfo noIp = svc("pending", l2(true));
    ServiceInfo badIp = svc("bad", l2(true), "300.1.1.1");
    ServiceInfo host = svc("host", l2(true), "example.com");
    ServiceInfo inCluster = svc("inside", l2(true), "10.244.3.7");
    ServiceInfo badLabel = svc("odd", Map.of(Labels.ANNOUNCE, "arp"), "192.168.100.201");
    ServiceInfo bgp = svc("bgp", Map.of(Labels.ANNOUNCE, "bgp"), "192.168.100.202");
    ServiceInfo egressOnly = svc("eo", Map.of(Labels.EGRESS, "true"), "192.168.100.203");
    ServiceInfo clusterIp =
        new ServiceInfo(new ServiceKey("default", "cip"), "ClusterIP", l2(false), List.of());
    ServiceInfo good = svc("good", l2(true), "192.168.100.210");
    Plan p =
        plan(
            view(
                List.of(noIp, badIp, host, inCluster, badLabel, bgp, egressOnly, clusterIp, good),
                Map.of()));
    assertEquals(Set.of(ip("192.168.100.210")), p.vips().keySet());
    Map<String, String> reasons = new HashMap<>();
    p.problems().forEach(x -> reasons.put(x.service().name(), x.reason()));
    assertEquals(
        Map.of(
            "pending", "VipPending",
            "bad", "InvalidVip",
            "host", "InvalidVip",
            "inside", "VipInClusterRange",
            "odd", "InvalidAnnounceLabel",
            "bgp", "ModeUnavailable",
            "eo", "EgressWithoutAnnounce",
            "cip", "NotLoadBalancer"),
        reasons);
  }

  @Test
  void aNewcomerThatDisagreesOnASharedVipsModeCostsOnlyItself() {
    ServiceKey good = new ServiceKey("default", "web");
    ServiceKey late = new ServiceKey("default", "0-late"); // sorts first by name, created later
    Plan p =
        Planner.plan(
            view(
                List.of(
                    new ServiceInfo(
                        good,
                        "LoadBalancer",
                        l2(false),
                        List.of("192.168.100.200"),
                        java.time.Instant.parse("2026-01-01T00:00:00Z")),
                    new ServiceInfo(
                        late,
                        "LoadBalancer",
                        Map.of(Labels.ANNOUNCE, "bgp"),
                        List.of("192.168.100.200"),
                        java.time.Instant.parse("2026-01-02T00:00:00Z"))),
                Map.of()),
            RANGES,
            Set.of(Mode.L2, Mode.BGP));
    VipSpec v = p.vips().get(ip("192.168.100.200"));
    assertEquals(Mode.L2, v.mode(), "the older Service keeps its VIP");
    assertEquals(Set.of(good), Set.copyOf(v.services()));
    assertEquals(
        List.of(late),
        p.problems().stream()
            .filter(x -> x.reason().equals("VipModeConflict"))
            .map(Problem::service)
            .toList());
  }

  @Test
  void ipv6Vip() {
    Plan p =
        plan(
            view(
                List.of(svc("v6", l2(true), "fd76:100::200")),
                Map.of("v6", List.of(new EndpointInfo("fd76:244:2::2", "node2")))));
    VipSpec v = p.vips().get(ip("fd76:100::200"));
    assertEquals(Set.of(new Backend(ip("fd76:244:2::2"), "node2")), v.backends());
    assertTrue(Planner.sameFamily(v.vip(), List.of(ip("fd76:100::11"))));
    assertFalse(Planner.sameFamily(v.vip(), List.of(ip("192.168.100.11"))));
  }
}
