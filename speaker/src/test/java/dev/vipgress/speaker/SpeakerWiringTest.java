package dev.vipgress.speaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.ElectionListener;
import dev.vipgress.election.LeaseElector;
import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.OwnedVip;
import dev.vipgress.speaker.config.ConfigLoader;
import dev.vipgress.speaker.config.SpeakerConfig;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EndpointInfo;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.ServiceInfo;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import dev.vipgress.speaker.reconcile.FakeEdge;
import dev.vipgress.speaker.reconcile.ManualLoop;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The daemon as {@link Speaker#wire} builds it — the real reconciler and the real elector — with
 * fakes only at the I/O edge (Lease API, watches, datapath, announcer), on one manual clock.
 */
class SpeakerWiringTest {
  static final String VIP = "192.168.100.200";
  static final ServiceKey WEB = new ServiceKey("default", "web");

  final ManualLoop loop = new ManualLoop();
  final FakeLeases leases = new FakeLeases(loop);
  final FakeEdge edge = new FakeEdge(view());
  final SpeakerConfig cfg = ConfigLoader.defaults();

  static ClusterView view() {
    ServiceInfo web =
        new ServiceInfo(
            WEB,
            "LoadBalancer",
            Map.of(Labels.ANNOUNCE, "l2", Labels.EGRESS, "true"),
            List.of(VIP));
    return new ClusterView(
        Map.of(WEB, web),
        Map.of(WEB, List.of(new EndpointInfo("10.244.1.2", "node1"))),
        Map.of("node1", new NodeInfo("node1", List.of("192.168.100.11"), true, Map.of())));
  }

  Speaker.Edge edge() {
    AtomicInteger incarnations = new AtomicInteger();
    return new Speaker.Edge(
        loop,
        edge.cluster(),
        edge.reporter(),
        edge.datapath(),
        Map.of(Mode.L2, edge.announcer()),
        listener ->
            new LeaseElector(
                Speaker.electionConfig(cfg),
                "node1",
                listener,
                new LeaseElector.Wiring(
                    leases,
                    leases.watch(),
                    loop,
                    leases.io(),
                    leases.io(),
                    loop,
                    Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC),
                    () -> "i" + incarnations.incrementAndGet(),
                    () -> {})),
        SteeringPolicy.direct(),
        () -> {},
        (warning, reason, message) -> {});
  }

  Speaker.Core start() {
    Speaker.Core core =
        Speaker.wire("node1", () -> cfg, new SpeakerMetrics(new PrometheusRegistry()), edge());
    core.elector().start();
    core.reconciler().start();
    return core;
  }

  @Test
  void aVipLostToALateRenewalIsSuspendedNotWithdrawnInTheDaemon() {
    Speaker.Core core = start();
    loop.advance(Duration.ofSeconds(3));
    assertTrue(edge.log.contains("announce " + VIP), edge.log.toString());
    assertTrue(core.reconciler().status().get(0).ownedHere());

    leases.latencyMillis = 1500; // renewals land after the fencing deadline: LossReason.DEADLINE
    loop.advance(Duration.ofSeconds(3));
    assertTrue(
        core.elector().metrics().losses().get(ElectionListener.LossReason.DEADLINE) > 0,
        "lost by deadline");
    assertFalse(edge.log.contains("withdraw " + VIP), "suspended, not released: " + edge.log);

    leases.latencyMillis = 2;
    loop.advance(Duration.ofSeconds(3));
    assertFalse(edge.log.contains("withdraw " + VIP), edge.log.toString());
    assertTrue(core.reconciler().status().get(0).ownedHere(), "re-taken without a move");
    assertEquals(1, edge.events.stream().filter("web VipAnnounced"::equals).count());
  }

  @Test
  void aKernelChangeUnderTheDatapathIsAppliedAgainAgainstTheKernel() throws Exception {
    Speaker speaker = new Speaker("node1", ConfigLoader.parse("httpPort: 0\n", "test"), null, null);
    speaker.start((conf, started) -> edge());
    loop.advance(Duration.ofSeconds(3));
    assertTrue(edge.log.contains("announce " + VIP), edge.log.toString());
    int applied = edge.applied.size();
    loop.advance(Duration.ofSeconds(15)); // renewals and a resync: nothing desired changed
    assertEquals(applied, edge.applied.size(), "no apply without a change");

    // the uplink went down and up: the kernel flushed the steering routes, the monitor reports
    // the link, then the routes, then the echo of nothing; one re-apply of the unchanged state
    edge.kernelWatch.run();
    edge.kernelWatch.run();
    edge.kernelWatch.run();
    loop.advance(Duration.ofSeconds(1));
    assertEquals(applied + 1, edge.applied.size(), "re-applied once: " + edge.log);
    NodeDesired before = edge.applied.get(applied - 1);
    NodeDesired again = edge.applied.get(applied);
    assertEquals(
        before.owned().stream().map(OwnedVip::vip).toList(),
        again.owned().stream().map(OwnedVip::vip).toList(),
        "the same state");
    assertEquals(before.steering(), again.steering());
    assertEquals(before.egressBackends(), again.egressBackends());
    loop.advance(Duration.ofSeconds(5));
    assertEquals(applied + 1, edge.applied.size(), "and then quiet");

    speaker.close();
    assertTrue(edge.log.contains("kernelWatchClosed"), edge.log.toString());
  }

  @Test
  void aRefusedElementIsAWarningOnItsServiceCountedAndRetriedAlone() {
    SpeakerMetrics metrics = new SpeakerMetrics(new PrometheusRegistry());
    // an element of the Service's backend, not of its VIP: the VIP is announced over its SNAT
    String element = "add element inet vipgress egress4 { 10.244.1.2 }";
    edge.refuse.add(new ApplyResult.Refused(element, "nft refused it: File exists"));
    Speaker.Core core = Speaker.wire("node1", () -> cfg, metrics, edge());
    core.elector().start();
    core.reconciler().start();
    loop.advance(Duration.ofSeconds(3));
    assertTrue(edge.log.contains("announce " + VIP), "the rest is applied: " + edge.log);
    assertEquals(
        1,
        edge.events.stream().filter("web ElementRefused"::equals).count(),
        edge.events.toString());
    assertTrue(metrics.natRefused.get() >= 1);
    int applies = edge.applied.size();
    loop.advance(Duration.ofSeconds(2));
    assertTrue(edge.applied.size() > applies, "retried");
    assertEquals(
        1,
        edge.events.stream().filter("web ElementRefused"::equals).count(),
        "one Event, not one per retry");

    edge.refuse.clear(); // the kernel takes it
    loop.advance(Duration.ofSeconds(15));
    int settled = edge.applied.size();
    loop.advance(Duration.ofSeconds(30));
    assertEquals(settled, edge.applied.size(), "nothing left to retry");
  }

  @Test
  void aStartThatFailsAtTheHttpPortStopsEverythingItHadStarted() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      SpeakerConfig c =
          ConfigLoader.parse("httpPort: " + taken.getLocalPort() + "\n", "test config");
      Speaker speaker = new Speaker("node1", c, null, null);
      Speaker.StartupException e =
          assertThrows(
              Speaker.StartupException.class,
              () ->
                  speaker.start(
                      (conf, started) -> {
                        Speaker.Edge io = edge();
                        io.announcers().values().forEach(started::add); // as the real edge does
                        return io;
                      }));
      assertTrue(e.getMessage().contains("httpPort " + taken.getLocalPort()), e.getMessage());
      speaker.close(); // what the daemon's try-with-resources does
      assertTrue(edge.announcerClosed, "the announcer does not keep answering");
      assertTrue(edge.log.contains("natClose handingOver=true"), edge.log.toString());
    }
  }
}
