package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.FakeCluster.Member;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The vipgress_election_* metrics the README lists are registered with Prometheus. */
class ElectionInstrumentsTest {
  @Test
  void anElectorExposesItsMetricsInAPrometheusRegistry() {
    FakeCluster c = new FakeCluster(81);
    Member a = c.start("node1", Set.of("10.0.0.1", "10.0.0.2"));
    PrometheusRegistry registry = new PrometheusRegistry();
    a.elector.registerMetrics(registry);
    c.sched.advance(Duration.ofSeconds(3));
    MetricSnapshots scraped = registry.scrape();
    assertEquals(2.0, gauge(scraped, "vipgress_election_owned_vips"));
    assertEquals(2.0, gauge(scraped, "vipgress_election_candidate_vips"));
    assertEquals(1.0, gauge(scraped, "vipgress_election_api_healthy"));
    assertEquals(2.0, counter(scraped, "vipgress_election_acquisitions"));
    assertTrue(counter(scraped, "vipgress_election_renewals") >= 4);
    assertEquals(
        a.elector.metrics().apiRequests(),
        (long) counter(scraped, "vipgress_election_api_requests"));
    assertTrue(
        scraped.stream()
            .anyMatch(m -> m.getMetadata().getName().equals("vipgress_election_losses")));
  }

  private static MetricSnapshot find(MetricSnapshots all, String name) {
    return all.stream()
        .filter(m -> m.getMetadata().getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + " not registered"));
  }

  private static double gauge(MetricSnapshots all, String name) {
    return ((GaugeSnapshot) find(all, name)).getDataPoints().get(0).getValue();
  }

  private static double counter(MetricSnapshots all, String name) {
    return ((CounterSnapshot) find(all, name)).getDataPoints().get(0).getValue();
  }
}
