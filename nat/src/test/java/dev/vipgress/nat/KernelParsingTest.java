package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Parsing of real {@code nft -j} and {@code ip -j} output captured from nftables 1.0.6 / iproute2
 * 6.1.
 */
class KernelParsingTest {
  private final NatConfig config = NatConfig.builder("eth0").build();

  @Test
  void nftListingRoundTripsThePlan() {
    NftListing l = NftListing.parse(FakeRunner.resource("listing.json"), "vipgress");
    assertTrue(l.matches(new NftRenderer(config)));
    assertFalse(l.matches(new NftRenderer(NatConfig.builder("eth0").guard(false).build())));
    TableState s = l.state();
    assertEquals(Set.of("ipv4", "ipv6"), s.alive());
    assertEquals(Map.of("fd76:100::200", ""), s.get("owned6"));
    assertEquals(
        Map.of(
            "10.244.2.7 . 192.168.200.0/24",
            "192.168.100.210",
            "10.244.2.7 . 8.8.8.8",
            "192.168.100.210"),
        s.get("snat4s"));
    assertEquals(Map.of("10.244.1.9", "0x00010000"), s.get("steer4"));
    assertEquals(Map.of("10.244.1.10 . 1.1.1.0/24", "0x00020000"), s.get("steer4s"));
    assertEquals(Map.of("fd76:244::/32", ""), s.get("cluster6"));
    assertEquals(Map.of("10.244.0.0/16", "", "192.168.100.11", ""), s.get("cluster4"));

    // the same desired state renders no element changes against it
    DesiredStateText d =
        DesiredStateText.parse(
            String.join(
                "\n",
                "cluster 10.244.0.0/16",
                "cluster 192.168.100.11",
                "cluster fd76:244::/32",
                "own 192.168.100.200 backends=10.244.1.2,10.244.3.2",
                "own fd76:100::200 backends=fd76:244:1::2",
                "own 192.168.100.210 backends=10.244.2.7 scope=192.168.200.0/24,8.8.8.8",
                "steer 10.244.1.9 owner=node2 via=192.168.100.12 vip=192.168.100.201",
                "steer fd76:244:1::9 owner=node2 via=fd76:100::12 vip=fd76:100::201",
                "steer 10.244.1.10 owner=node3 via=192.168.100.13 vip=192.168.100.202 scope=1.1.1.0/24"),
            0);
    NatPlan p = NatPlan.of(d.desired(), config, Map.of("node2", 0, "node3", 1));
    assertEquals(p.table().elements(), s.elements());
  }

  @Test
  void nftListingOfIntervalsAndRanges() {
    String json =
        "{\"nftables\": [{\"table\": {\"family\": \"inet\", \"name\": \"vipgress\"}}, {\"set\": {\"family\":"
            + " \"inet\", \"name\": \"cluster4\", \"table\": \"vipgress\", \"elem\": [{\"prefix\": {\"addr\":"
            + " \"10.0.0.0\", \"len\": 8}}, {\"range\": [\"172.16.0.0\", \"172.16.0.5\"]}, \"192.168.1.1\"]}}]}";
    NftListing l = NftListing.parse(json, "vipgress");
    assertEquals(
        Set.of("10.0.0.0/8", "172.16.0.0-172.16.0.5", "192.168.1.1"),
        l.state().get("cluster4").keySet());
    assertFalse(l.matches(new NftRenderer(config)));
  }

  @Test
  void steeringRoutesParseAndDiff() {
    SteeringRoutes r = new SteeringRoutes(config);
    Map<Family, SteeringRoutes.View> cur = new EnumMap<>(Family.class);
    cur.put(
        Family.V4,
        r.parse(FakeRunner.resource("routes4.json"), FakeRunner.resource("rules4.json")));
    cur.put(
        Family.V6,
        r.parse(FakeRunner.resource("routes6.json"), FakeRunner.resource("rules6.json")));
    assertEquals(
        Map.of(
            7600,
            Map.of(
                "default",
                "via 192.168.100.12",
                "10.244.0.0/16",
                "throw",
                "192.168.100.11",
                "throw"),
            7601,
            Map.of(
                "default",
                "via 192.168.100.13",
                "10.244.0.0/16",
                "throw",
                "192.168.100.11",
                "throw")),
        cur.get(Family.V4).routes());
    assertEquals(Map.of(0x10000, 7600, 0x20000, 7601), cur.get(Family.V4).rules());
    assertEquals(Map.of(0x10000, 7600), cur.get(Family.V6).rules());

    // node3 goes away, node2 moves to a new address
    NodeDesired d =
        DesiredStateText.parse(
                "cluster 10.244.0.0/16\ncluster 192.168.100.11\ncluster fd76:244::/32\n"
                    + "steer 10.244.1.9 owner=node2 via=192.168.100.22 vip=192.168.100.201\n",
                0)
            .desired();
    NatPlan p = NatPlan.of(d, config, Map.of("node2", 0));
    Map<Family, SteeringRoutes.View> want = new EnumMap<>(Family.class);
    for (Family f : Family.values()) {
      want.put(f, r.desired(p, f));
    }
    SteeringRoutes.Diff diff = r.diff(cur, want);
    assertEquals(
        List.of(
            "route replace default via 192.168.100.22 table 7600",
            "route replace blackhole default metric 4294967295 table 7600"),
        diff.before().get(Family.V4));
    assertEquals(
        List.of(
            "rule del pref 7600 fwmark 0x20000/0xff0000 lookup 7601",
            "route del throw 10.244.0.0/16 table 7601",
            "route del throw 192.168.100.11 table 7601",
            "route del default via 192.168.100.13 table 7601"),
        diff.after().get(Family.V4));
    assertEquals(
        List.of(
            "rule del pref 7600 fwmark 0x10000/0xff0000 lookup 7600",
            "route del default via fd76:100::12 table 7600",
            "route del throw fd76:244::/32 table 7600"),
        diff.after().get(Family.V6));
    assertTrue(diff.before().get(Family.V6).isEmpty());
  }

  @Test
  void conntrackCleanupOnTakeoverAndRelease() {
    NatConfig c = config;
    NodeDesired steered =
        DesiredStateText.parse(
                "steer 10.244.1.2 owner=node2 via=192.168.100.12 vip=192.168.100.200\n"
                    + "own 192.168.100.201 backends=10.244.1.3\n",
                0)
            .desired();
    NodeDesired owner =
        DesiredStateText.parse("own 192.168.100.200 backends=10.244.1.2,10.244.3.2\n", 0).desired();
    TableState a = NatPlan.of(steered, c, Map.of("node2", 0)).table();
    TableState b = NatPlan.of(owner, c, Map.of()).table();
    assertEquals(
        List.of(
            List.of("-D", "-f", "ipv4", "-q", "192.168.100.201"),
            List.of("-D", "-f", "ipv4", "-q", "192.168.100.200"),
            List.of("-D", "-f", "ipv4", "-d", "192.168.100.200"),
            List.of("-D", "-f", "ipv4", "-s", "10.244.1.2"),
            List.of("-D", "-f", "ipv4", "-s", "10.244.3.2")),
        ConntrackCleanup.commands(a, b));
    assertEquals(List.of(), ConntrackCleanup.commands(b, b));
  }

  @Test
  void conntrackCleanupForPodsThatJustBecameBackends() {
    // a new backend pod's old entries carry the CNI masquerade (or no NAT): they must go
    NodeDesired none = DesiredStateText.parse("", 0).desired();
    NodeDesired steered =
        DesiredStateText.parse(
                "steer 10.244.1.2 owner=node2 via=192.168.100.12 vip=192.168.100.200\n", 0)
            .desired();
    NodeDesired steeredTwo =
        DesiredStateText.parse(
                "steer 10.244.1.2 owner=node2 via=192.168.100.12 vip=192.168.100.200\n"
                    + "steer 10.244.1.3 owner=node2 via=192.168.100.12 vip=192.168.100.200\n",
                0)
            .desired();
    TableState a = NatPlan.of(none, config, Map.of()).table();
    TableState b = NatPlan.of(steered, config, Map.of("node2", 0)).table();
    TableState c = NatPlan.of(steeredTwo, config, Map.of("node2", 0)).table();
    assertEquals(
        List.of(List.of("-D", "-f", "ipv4", "-s", "10.244.1.2")), ConntrackCleanup.commands(a, b));
    assertEquals(
        List.of(List.of("-D", "-f", "ipv4", "-s", "10.244.1.3")), ConntrackCleanup.commands(b, c));
    assertEquals(List.of(), ConntrackCleanup.commands(c, b), "a pod leaving needs nothing here");
  }

  @Test
  void conntrackListingKeepsOnlyCommandsThatDeleteSomething() {
    String listing =
        "tcp      6 431999 ESTABLISHED src=10.244.3.2 dst=192.168.100.100 sport=40000 dport=9000"
            + " src=192.168.100.100 dst=192.168.100.240 sport=9000 dport=40000 [ASSURED] mark=0 use=1\n"
            + "tcp      6 119 TIME_WAIT src=192.168.100.100 dst=192.168.100.241 sport=9000 dport=1"
            + " src=192.168.100.241 dst=192.168.100.100 sport=1 dport=9000 [ASSURED] mark=0 use=1\n";
    List<List<String>> cmds =
        List.of(
            List.of("-D", "-f", "ipv4", "-q", "192.168.100.240"),
            List.of("-D", "-f", "ipv4", "-q", "192.168.100.241"),
            List.of("-D", "-f", "ipv4", "-d", "192.168.100.241"),
            List.of("-D", "-f", "ipv4", "-s", "10.244.3.2"),
            List.of("-D", "-f", "ipv4", "-s", "10.244.3.3"),
            List.of("-D", "-f", "ipv6", "-q", "fd76:100::240"));
    assertEquals(
        List.of(
            List.of("-D", "-f", "ipv4", "-q", "192.168.100.240"),
            List.of("-D", "-f", "ipv4", "-d", "192.168.100.241"),
            List.of("-D", "-f", "ipv4", "-s", "10.244.3.2")),
        ConntrackCleanup.present(cmds, Family.V4, listing));
  }

  @Test
  void aPacketMarkedForATableThatLostItsDefaultRouteIsDroppedNotRoutedOn() {
    // the kernel flushes `default via <owner>` with the uplink: without the blackhole behind it,
    // the main table would send the marked packet out with the pod's own address
    SteeringRoutes r = new SteeringRoutes(NatConfig.builder("eth0").build());
    String routes =
        "[{\"type\":\"blackhole\",\"dst\":\"default\",\"table\":\"7600\",\"metric\":"
            + "4294967295,\"flags\":[]},{\"type\":\"throw\",\"dst\":\"10.244.0.0/16\","
            + "\"table\":\"7600\",\"flags\":[]}]";
    SteeringRoutes.View cur = r.parse(routes, "[]");
    assertEquals(Map.of("fence", "blackhole", "10.244.0.0/16", "throw"), cur.routes().get(7600));
    NodeDesired d =
        DesiredStateText.parse(
                "cluster 10.244.0.0/16\n"
                    + "steer 10.244.1.9 owner=node2 via=192.168.100.12 vip=192.168.100.201\n",
                0)
            .desired();
    SteeringRoutes.View want =
        r.desired(NatPlan.of(d, NatConfig.builder("eth0").build(), Map.of("node2", 0)), Family.V4);
    assertEquals("blackhole", want.routes().get(7600).get("fence"));
    assertEquals(
        List.of(
            "route replace default via 192.168.100.12 table 7600",
            "rule add pref 7600 fwmark 0x10000/0xff0000 lookup 7600"),
        r.diff(Map.of(Family.V4, cur), Map.of(Family.V4, want)).before().get(Family.V4));
    assertEquals(
        List.of(
            "route del throw 10.244.0.0/16 table 7600",
            "route del blackhole default metric 4294967295 table 7600"),
        r.removeAll(Map.of(Family.V4, cur)).get(Family.V4));
  }
}
