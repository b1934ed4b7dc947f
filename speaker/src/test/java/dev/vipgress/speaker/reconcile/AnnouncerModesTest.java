package dev.vipgress.speaker.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.config.ConfigLoader;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.ServiceInfo;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** One announcer per mode, health per mode: an unhealthy mode removes only its own VIPs. */
class AnnouncerModesTest {
  static final String L2_VIP = "192.168.100.200";
  static final String BGP_VIP = "203.0.113.7";

  final ManualLoop loop = new ManualLoop();
  final FakeEdge l2 = new FakeEdge(view());
  final FakeEdge bgp = new FakeEdge(view());
  final List<Set<String>> candidacy = new ArrayList<>();
  final List<Boolean> health = new ArrayList<>();

  static ClusterView view() {
    ServiceKey web = new ServiceKey("default", "web");
    ServiceKey routed = new ServiceKey("default", "routed");
    return new ClusterView(
        Map.of(
            web,
            new ServiceInfo(web, "LoadBalancer", Map.of(Labels.ANNOUNCE, "l2"), List.of(L2_VIP)),
            routed,
            new ServiceInfo(
                routed, "LoadBalancer", Map.of(Labels.ANNOUNCE, "bgp"), List.of(BGP_VIP))),
        Map.of(),
        Map.of("node1", new NodeInfo("node1", List.of("192.168.100.11"), true, Map.of())));
  }

  Reconciler reconciler() {
    Candidacy c =
        new Candidacy() {
          @Override
          public void setCandidacy(Set<String> vips) {
            candidacy.add(vips);
          }

          @Override
          public void setHealthy(boolean healthy) {
            health.add(healthy);
          }

          @Override
          public void close() {}
        };
    return new Reconciler(
        "node1",
        ConfigLoader::defaults,
        SteeringPolicy.direct(),
        new Reconciler.Wiring(
            loop,
            l2.cluster(),
            c,
            l2.datapath(),
            Map.of(Mode.L2, l2.announcer(), Mode.BGP, bgp.announcer()),
            l2.reporter(),
            new SpeakerMetrics(new PrometheusRegistry())));
  }

  Set<String> lastCandidacy() {
    return candidacy.get(candidacy.size() - 1);
  }

  @Test
  void anUnhealthyModeWithdrawsOnlyItsOwnVipsFromTheCandidacy() {
    Reconciler r = reconciler();
    r.start();
    loop.run();
    assertEquals(Set.of(L2_VIP, BGP_VIP), lastCandidacy());

    bgp.healthy = false; // every BGP session down
    r.trigger();
    loop.run();
    assertEquals(Set.of(L2_VIP), lastCandidacy());
    assertTrue(health.get(health.size() - 1), "the node stays eligible for its L2 VIPs");

    l2.healthy = false;
    bgp.healthy = true;
    r.trigger();
    loop.run();
    assertEquals(Set.of(BGP_VIP), lastCandidacy());

    bgp.healthy = false; // no mode can serve: the node is unhealthy
    r.trigger();
    loop.run();
    assertEquals(false, health.get(health.size() - 1));
    assertEquals(Set.of(), lastCandidacy());
  }

  @Test
  void aBgpVipIsCompetedForOnlyWhileASessionCarriesItsFamily() {
    Reconciler r = reconciler();
    r.start();
    loop.run();
    assertEquals(Set.of(L2_VIP, BGP_VIP), lastCandidacy());

    // only an IPv6 session is up: the IPv4 BGP VIP goes, the node stays eligible
    bgp.carries = vip -> vip instanceof java.net.Inet6Address;
    r.trigger();
    loop.run();
    assertEquals(Set.of(L2_VIP), lastCandidacy());
    assertTrue(health.get(health.size() - 1));

    bgp.carries = vip -> true;
    r.trigger();
    loop.run();
    assertEquals(Set.of(L2_VIP, BGP_VIP), lastCandidacy());
  }

  @Test
  void aVipIsAnnouncedAndWithdrawnByTheAnnouncerOfItsMode() {
    Reconciler r = reconciler();
    r.start();
    loop.run();
    r.acquired(BGP_VIP, loop.nanoTime() + 5_000_000_000L);
    r.acquired(L2_VIP, loop.nanoTime() + 5_000_000_000L);
    loop.run();
    assertTrue(bgp.log.contains("announce " + BGP_VIP), bgp.log.toString());
    assertTrue(l2.log.contains("announce " + L2_VIP), l2.log.toString());
    assertTrue(l2.log.stream().noneMatch(l -> l.contains(BGP_VIP)), l2.log.toString());
    r.lost(BGP_VIP, dev.vipgress.election.ElectionListener.LossReason.CANDIDACY);
    loop.run();
    assertTrue(bgp.log.contains("withdraw " + BGP_VIP), bgp.log.toString());
    assertTrue(l2.log.stream().noneMatch(l -> l.startsWith("withdraw")), l2.log.toString());
  }
}
