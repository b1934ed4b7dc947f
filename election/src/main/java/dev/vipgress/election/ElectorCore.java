package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import io.kubernetes.client.openapi.ApiException;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * What every part of one elector shares, all on its loop thread: the wiring, the configuration, the
 * elector's phase, candidacy and health, the listener reporter, timers and metrics, and the parts
 * themselves ({@link LeaseView}, {@link PeerTable}, {@link Liveness}, {@link Decider}, {@link
 * LeaseWriter}, {@link GenesisFlow}, {@link Rebalancer}, {@link Collector}).
 */
final class ElectorCore {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  enum Phase {
    NEW,
    SYNCING,
    CLAIMING,
    STARTING,
    RUNNING,
    CLOSED
  }

  final ElectionConfig config;

  final String node;

  final LeaseElector.Wiring wiring;

  final LeaseApi api;

  final Scheduler loop;

  final String ownLeaseName;

  final long durationNanos;

  Phase phase = Phase.NEW;

  final Timers timers;

  final OwnershipReporter reporter;

  long candidacyChangedAt;

  Set<String> candidacy = Set.of();

  String candidacyStamp = LeaseElector.stamp(Set.of());

  boolean healthy = true;

  boolean closing;

  LossReason dropReason;

  final CountDownLatch closeDone = new CountDownLatch(1);

  final ElectionInstruments metrics;

  /** Hands a task to one of the elector's threads; after close they refuse, which is fine. */
  static void submit(Executor executor, Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  int leaseSeconds() {
    return (int) Math.max(1, (config.leaseDuration().toMillis() + 999) / 1000);
  }

  static String shortError(ApiException e) {
    String m = e.getMessage();
    if (m == null && e.getCause() != null) {
      m = e.getCause().toString();
    }
    return m == null ? "?" : m.length() > 200 ? m.substring(0, 200) : m;
  }

  /** Runs an INFO log call with the VIP and its Lease in the MDC (nothing if INFO is off). */
  static void logVip(String vip, Runnable logCall) {
    if (!log.isInfoEnabled()) {
      return;
    }
    try (var a = MDC.putCloseable("vip", vip);
        var b = MDC.putCloseable("lease", VipAddress.parse(vip).leaseName())) {
      logCall.run();
    }
  }

  final LeaseView view;
  final PeerTable peers;
  final Liveness liveness;
  final Decider decider;
  final LeaseWriter writer;
  final GenesisFlow genesis;
  final Rebalancer rebalancer;
  final Collector collector;

  ElectorCore(
      ElectionConfig config, String node, ElectionListener listener, LeaseElector.Wiring wiring) {
    this.config = config;
    this.node = node;
    this.wiring = wiring;
    this.api = wiring.api();
    this.loop = wiring.loop();
    this.ownLeaseName = Leases.nodeLeaseName(node);
    this.durationNanos = config.leaseDuration().toNanos();
    this.timers = new Timers(loop);
    this.reporter =
        new OwnershipReporter(node, listener, loop, wiring.events(), timers, this::lostDelivered);
    this.metrics = new ElectionInstruments(reporter::ownedCount, wiring.watch()::requests);
    this.view = new LeaseView(this);
    this.peers = new PeerTable(this);
    this.liveness = new Liveness(this);
    this.decider = new Decider(this);
    this.writer = new LeaseWriter(this);
    this.genesis = new GenesisFlow(this);
    this.rebalancer = new Rebalancer(this);
    this.collector = new Collector(this);
  }

  /** The listener has stopped serving {@code lost}: the decider writes their releases. */
  private void lostDelivered(Set<String> lost) {
    decider.lostDelivered(lost);
  }
}
