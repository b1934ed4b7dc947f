package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NftRendererTest {
  private final NatConfig config = NatConfig.builder("eth0").build();
  private final NftRenderer renderer = new NftRenderer(config);

  @Test
  void structure() {
    Golden.check("structure.nft", renderer.structure());
  }

  @Test
  void structureWithoutGuard() {
    List<String> s = new NftRenderer(NatConfig.builder("eth0").guard(false).build()).structure();
    assertTrue(s.stream().noneMatch(l -> l.contains("guard:")), "no guard rules");
    assertTrue(
        s.stream().anyMatch(l -> l.startsWith("add chain inet vipgress guard ")), "chain kept");
  }

  @Test
  void ownerFromEmpty() {
    NatPlan plan = NatPlan.of(Fixtures.owner(), config, Map.of("node2", 0));
    List<String> script = renderer.elements(TableState.empty(), plan.table());
    Golden.check("owner-from-empty.nft", script);
  }

  @Test
  void oneChangedBackendIsOneDeleteAndOneAdd() {
    NatPlan before = NatPlan.of(Fixtures.owner(), config, Map.of("node2", 0));
    NodeDesired d = Fixtures.owner();
    List<OwnedVip> owned = new ArrayList<>(d.owned());
    owned.replaceAll(
        o ->
            o.vip().equals(Fixtures.ip("192.168.100.200"))
                ? new OwnedVip(
                    o.vip(),
                    Set.of(Fixtures.ip("10.244.1.2"), Fixtures.ip("10.244.3.3")),
                    o.deadlineNanos())
                : o);
    NatPlan after =
        NatPlan.of(
            new NodeDesired(Set.copyOf(owned), d.steering(), d.clusterRanges()),
            config,
            Map.of("node2", 0));
    List<String> script = renderer.elements(before.table(), after.table());
    Golden.check("one-backend-changed.nft", script);
  }

  @Test
  void releaseRemovesEverythingAndKeepsNothingOwned() {
    NatPlan before = NatPlan.of(Fixtures.owner(), config, Map.of("node2", 0));
    List<String> script = renderer.elements(before.table(), TableState.empty());
    Golden.check("release-all.nft", script);
    assertFalse(script.stream().anyMatch(l -> l.contains("alive")), "the heartbeat is apart");
  }

  @Test
  void heartbeatIsThreeOperationsPerFamily() {
    assertEquals(
        List.of(
            "add element inet vipgress alive { ipv4 }",
            "delete element inet vipgress alive { ipv4 }",
            "add element inet vipgress alive { ipv4 timeout 1500ms }",
            "add element inet vipgress alive { ipv6 }",
            "delete element inet vipgress alive { ipv6 }",
            "add element inet vipgress alive { ipv6 timeout 1500ms }"),
        renderer.heartbeat(1500));
    assertEquals(4, renderer.heartbeat(0).size(), "lapsed: removed, not re-added");
  }

  @Test
  void theHeartbeatTransactionAlsoFencesAndRevivesOwnedVips() {
    assertEquals(
        List.of(
            "delete element inet vipgress owned4 { 192.168.100.200 }",
            "add element inet vipgress owned6 { fd76:100::200 }",
            "add element inet vipgress alive { ipv4 }",
            "delete element inet vipgress alive { ipv4 }",
            "add element inet vipgress alive { ipv4 timeout 700ms }",
            "add element inet vipgress alive { ipv6 }",
            "delete element inet vipgress alive { ipv6 }",
            "add element inet vipgress alive { ipv6 timeout 700ms }"),
        renderer.heartbeat(700, List.of("192.168.100.200"), List.of("fd76:100::200")));
  }

  @Test
  void podsOfOtherNodesAreNeverForwardedOutWithTheirOwnIp() {
    // after SNAT (postrouting), so what this node SNATs to an owned VIP passes; what it does not
    // (a takeover not yet installed, a release not yet heard of by the steering node) is dropped
    List<String> s = renderer.structure();
    for (String p : List.of("ip", "ip6")) {
      String n = p.equals("ip") ? "4" : "6";
      assertTrue(
          s.contains(
              "add rule inet vipgress postrouting ct direction original iifname { \"eth0\" } "
                  + p
                  + " saddr @cluster"
                  + n
                  + " "
                  + p
                  + " daddr != @cluster"
                  + n
                  + " drop comment \"fail closed: a pod of another node never leaves here with"
                  + " its own IP\""),
          String.join("\n", s));
    }
  }

  @Test
  void localEgressBackendsLeaveOnlySnatedOrSteeredJudgedByTheirOriginalSource() {
    // ct original: a CNI masquerade (srcnat, before this chain) must not hide the backend
    List<String> s = renderer.structure();
    for (String p : List.of("ip", "ip6")) {
      String n = p.equals("ip") ? "4" : "6";
      String tail =
          " ct original "
              + p
              + " daddr != @cluster"
              + n
              + " "
              + p
              + " saddr != @vips"
              + n
              + " meta mark & 0x00ff0000 == 0 drop comment \"fail closed: a local egress backend"
              + " leaves SNATed or steered, never as itself\"";
      String head = "add rule inet vipgress postrouting ct direction original ct original " + p;
      assertTrue(s.contains(head + " saddr @backends" + n + tail), String.join("\n", s));
      assertTrue(
          s.contains(head + " saddr . " + p + " daddr @backends" + n + "s" + tail),
          String.join("\n", s));
    }
    assertTrue(s.stream().noneMatch(l -> l.contains("saddr @snat")), "one mechanism, not two");
  }

  @Test
  void ruleCountsMatchStructure() {
    Map<String, Integer> c = renderer.ruleCounts();
    assertEquals(
        Set.of("prerouting", "guard", "steer_snat", "egress_snat", "postrouting", "forward"),
        c.keySet());
    assertEquals(2, c.get("guard"));
    assertEquals(
        0,
        new NftRenderer(NatConfig.builder("eth0").guard(false).build()).ruleCounts().get("guard"));
  }
}
