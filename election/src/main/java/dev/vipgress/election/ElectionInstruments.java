package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The elector's {@code vipgress_election_*} metrics, kept by the Prometheus client: counters are
 * incremented from the loop and I/O threads, gauges are read on scrape. Built unregistered (an
 * elector works without a registry, and tests run many in one JVM); {@link #register} exposes them.
 * {@link LeaseElector#metrics()} reads the same values into an {@link ElectionMetrics} snapshot.
 */
final class ElectionInstruments {
  final Counter acquisitions = counter("acquisitions", "VIPs this node acquired");
  final Counter releases = counter("releases", "VIP Leases this node released");
  final Counter fences = counter("fences", "liveness Leases of peers this node fenced");
  final Counter conflicts = counter("conflicts", "writes refused with 409 (re-read)");
  final Counter apiErrors = counter("api_errors", "requests that failed otherwise");
  final Counter renewals = counter("renewals", "successful liveness renewals");
  final Counter renewalFailures = counter("renewal_failures", "failed liveness renewals");
  final Counter watchRestarts = counter("watch_restarts", "times the Lease watch broke");
  final Counter requests = counter("own_requests", "Lease requests other than the watch's");
  private final Counter losses =
      Counter.builder()
          .name("vipgress_election_losses_total")
          .help("VIPs this node lost, by reason")
          .labelNames("reason")
          .build();

  volatile int knownVips;
  volatile int candidateVips;
  volatile int liveNodes;
  volatile int eligibleNodes;
  volatile boolean apiHealthy = true;

  private final List<Collector> collectors;

  /**
   * @param ownedVips how many VIPs this node owns now
   * @param watchRequests requests the Lease watch made (list pages, watch starts)
   */
  ElectionInstruments(LongSupplier ownedVips, LongSupplier watchRequests) {
    for (LossReason r : LossReason.values()) {
      losses.labelValues(r.name()); // every reason exported, from zero
    }
    collectors =
        List.of(
            acquisitions,
            releases,
            fences,
            conflicts,
            apiErrors,
            renewals,
            renewalFailures,
            watchRestarts,
            losses,
            gauge("owned_vips", "VIPs this node owns", ownedVips::getAsLong),
            gauge("known_vips", "VIP Leases seen", () -> knownVips),
            gauge("candidate_vips", "VIPs this node competes for", () -> candidateVips),
            gauge("live_nodes", "nodes with a current liveness Lease", () -> liveNodes),
            gauge("eligible_nodes", "live nodes that are eligible", () -> eligibleNodes),
            gauge("api_healthy", "1 if the last liveness renewal succeeded", () -> apiHealthy),
            CounterWithCallback.builder()
                .name("vipgress_election_api_requests_total")
                .help("requests this elector sent to the API server, watch included")
                .callback(cb -> cb.call(requests.get() + watchRequests.getAsLong()))
                .build());
  }

  void lost(LossReason reason) {
    losses.labelValues(reason.name()).inc();
  }

  Map<LossReason, Long> losses() {
    Map<LossReason, Long> out = new EnumMap<>(LossReason.class);
    for (LossReason r : LossReason.values()) {
      out.put(r, (long) losses.labelValues(r.name()).get());
    }
    return out;
  }

  static long value(Counter c) {
    return (long) c.get();
  }

  /** Exposes every {@code vipgress_election_*} metric in {@code registry}. */
  void register(PrometheusRegistry registry) {
    collectors.forEach(registry::register);
  }

  private static Counter counter(String name, String help) {
    return Counter.builder().name("vipgress_election_" + name + "_total").help(help).build();
  }

  private interface Reading {
    double read();
  }

  private static GaugeWithCallback gauge(String name, String help, Reading r) {
    return GaugeWithCallback.builder()
        .name("vipgress_election_" + name)
        .help(help)
        .callback(cb -> cb.call(r.read()))
        .build();
  }

  private static GaugeWithCallback gauge(String name, String help, BooleanReading r) {
    return gauge(name, help, () -> r.read() ? 1 : 0);
  }

  private interface BooleanReading {
    boolean read();
  }
}
