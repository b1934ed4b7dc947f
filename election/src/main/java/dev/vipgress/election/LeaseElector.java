package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.models.V1Lease;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, for every VIP, the single node that owns it, on Kubernetes Leases.
 *
 * <h2>Protocol</h2>
 *
 * <ul>
 *   <li><b>Liveness.</b> Each node renews its own Lease {@code node-<node>} every {@code
 *       renewInterval}. The Lease carries an <i>incarnation</i> (random, new at every process start
 *       and every bulk release), whether the node is eligible, its candidacy fingerprint and its
 *       lease duration. This is the only periodic write: it costs the same for 1 or 10,000 VIPs.
 *   <li><b>Ownership.</b> One Lease per VIP ({@link VipAddress#leaseName()}) names the holder node
 *       and the incarnation it was taken under. It is written only when ownership changes. A VIP
 *       Lease is <i>vouched for</i> while the holder's liveness Lease carries that incarnation and
 *       is not fenced.
 *   <li><b>Taking a VIP</b> is a write of its Lease with the resource version it was read at (a 409
 *       means re-read), allowed only when the Lease is free: released (no holder), or its holder's
 *       incarnation changed (the holder dropped everything or restarted), or the holder's liveness
 *       Lease is fenced.
 *   <li><b>Fencing.</b> A peer that has seen no change of a node's liveness Lease for the lease
 *       duration (on its own monotonic clock, counted from when it saw the last change) marks that
 *       Lease fenced, again with its resource version. The fence and the node's renewal conflict,
 *       so exactly one of them wins: a renewal that lands keeps the node's VIPs; a fence that lands
 *       frees them all in one write, and the node, which learns of it on its next renewal, starts
 *       over with a new incarnation.
 *   <li><b>Fencing deadline.</b> The owner regards itself as owner only until {@code sent +
 *       leaseDuration - fencingMargin}, where {@code sent} is the local time it sent its last
 *       successful renewal. A fence needs a peer to have seen that renewal (so after {@code sent})
 *       and then waited {@code leaseDuration}, so it lands strictly after the deadline. Clocks are
 *       never compared across machines.
 *   <li><b>Graceful paths.</b> Shutdown and loss of health write a new incarnation (and
 *       not-eligible) on the liveness Lease: one write frees all VIPs and peers take them at once.
 *       That write, and any single release, waits for the listener: the stage {@link
 *       ElectionListener#lostAll} returned must complete first (the datapath really stopped), or
 *       the fencing deadline last given for those VIPs must pass (then the datapath's own fencing
 *       has stopped them, and peers could fence this node anyway).
 *   <li><b>API server unreachable.</b> Renewals fail, the deadline passes, VIPs are lost locally.
 *       Peers cannot fence either. When renewals succeed again the node resumes the VIPs its Leases
 *       still hold; peers restart their lapse clocks whenever their own API access recovers and
 *       never fence while their own renewal is stuck, so a returning API server does not set off a
 *       wave of fencing.
 *   <li><b>Re-created liveness Lease.</b> A node that finds its liveness Lease gone (collected, or
 *       deleted by hand) loses every VIP and re-creates it under a new incarnation: the fence and
 *       handoff records went with the old one, so nothing of the old incarnation may revive.
 *   <li><b>No claim from a stale view.</b> After a failed renewal, a re-created liveness Lease or a
 *       broken watch, nothing new is claimed until the watch (or a re-list) has delivered this
 *       node's liveness Lease at a version one of its own writes since returned (the watch is in
 *       commit order, so the view then holds everything up to that write).
 *   <li><b>Placement.</b> Free VIPs go to the first of the live eligible candidates in rendezvous
 *       order, the previous holder first ({@link Placement}); lower-ranked nodes wait ({@code
 *       placementStagger} while a better-placed peer publishes another candidacy, else {@code
 *       placementFallback}). Owned VIPs never move while their owner is live, eligible and a
 *       candidate.
 *   <li><b>Handoffs and heirs.</b> The write that ends an incarnation (a fence, or the node's own
 *       release on shutdown or loss of health) names its heirs ({@link Handoffs}): a VIP Lease
 *       under the ended incarnation belongs to its first heir in rendezvous order. Every node
 *       computes the same owner from that one object ({@link OwnershipResolver} follows chains of
 *       up to {@value OwnershipResolver#MAX_CHAIN}), so a failover costs one write for any number
 *       of VIPs; heirs rewrite the VIP Leases in their own name later, a few at a time (adoption).
 *   <li><b>Genesis.</b> A VIP without a Lease gets its first owner only from the genesis Lease
 *       ({@link Genesis}): one write lists the VIPs and the members (live eligible nodes with the
 *       same candidacy, each with its incarnation); a listed VIP without a Lease belongs to the
 *       first member in its rendezvous order, like a virtual VIP Lease. Only one exists at a time;
 *       it is taken into the view only from the watch or a list (never from a response: VIP Leases
 *       committed before it must be in the view first), and deleted once each listed VIP has a
 *       Lease.
 *   <li><b>Tombstones.</b> A deleted VIP Lease leaves a tombstone (its last holder and
 *       incarnation): the VIP resolves as before until a new Lease exists, so a hand-deleted Lease
 *       neither frees a VIP nor hands it out twice; its holder re-creates it (keeping the VIP only
 *       on the deadline it had meanwhile).
 *   <li><b>Views ahead of the watch.</b> A VIP Lease version from a read (after a 409, or an
 *       ambiguous re-list) may be newer than the view of the liveness Leases; while it names a
 *       peer, it is not judged free until the watch has delivered it.
 *   <li><b>Garbage collection.</b> A released VIP Lease nobody took for {@code releasedLeaseGc},
 *       and a liveness Lease fenced, stopped or silent that long and referred to by nothing, is
 *       deleted by the first live node in its rendezvous order ({@link Collector}).
 *   <li><b>Rebalancing</b> (opt-in, {@code rebalanceInterval}): an over-share node hands one VIP
 *       per interval to an under-share node with the same candidacy: {@code lost()} first, then a
 *       release naming this node, which placement skips ({@link Rebalancer}).
 * </ul>
 *
 * <p>Threads: one loop thread owns all state; one thread renews the liveness Lease; a small pool
 * ({@code apiConcurrency}) writes VIP Leases; one thread watches; one thread calls the listener.
 *
 * <p>Parts, all confined to the loop thread and sharing one {@link ElectorCore}: {@link LeaseView}
 * (the observed Lease cache and tombstones), {@link PeerTable} (liveness Leases of every node and
 * their lapse clocks), {@link Liveness} (this node's Lease, incarnation, claim, renewals, fencing
 * deadline, whether the view has caught up), {@link Decider} (level-triggered decisions per VIP),
 * {@link LeaseWriter} (planning each write when it may start, and its response), {@link
 * GenesisFlow}, {@link Rebalancer}, {@link Collector} (garbage collection), {@link
 * OwnershipResolver} (pure: who holds a VIP), {@link OwnershipReporter} (listener events and the
 * {@code lost()} barrier), {@link WriteQueue} (Lease writes in lanes), {@link LeaseVersions} (which
 * version the view takes, by equality only), {@link Timers} and {@link ElectionInstruments}. This
 * class is the public façade: wiring, threads, inputs.
 */
public final class LeaseElector implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  /**
   * What the elector runs on. The public constructor wires real ones; tests and the deterministic
   * simulator pass fakes (one simulated clock and scheduler for every part).
   */
  public record Wiring(
      LeaseApi api,
      LeaseWatch watch,
      Scheduler loop,
      Executor io,
      Executor liveness,
      Executor events,
      Clock wallClock,
      Supplier<String> incarnations,
      AutoCloseable resources) {}

  private final ElectorCore c;

  private final AtomicBoolean started = new AtomicBoolean();

  private final AtomicBoolean closeStarted = new AtomicBoolean();

  /**
   * An elector for {@code nodeName} on the API server behind {@code client}. The client is shared,
   * not modified; the elector makes its own threads. Call {@link #start()} to begin.
   */
  public LeaseElector(
      ElectionConfig config, ApiClient client, String nodeName, ElectionListener listener) {
    this(config, nodeName, listener, realWiring(config, client, nodeName));
  }

  /** An elector on explicit wiring (tests and the simulator). */
  public LeaseElector(
      ElectionConfig config, String nodeName, ElectionListener listener, Wiring wiring) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(nodeName, "nodeName");
    if (nodeName.isEmpty()) {
      throw new IllegalArgumentException("nodeName must not be empty");
    }
    Objects.requireNonNull(listener, "listener");
    this.c = new ElectorCore(config, nodeName, listener, wiring);
  }

  private static Wiring realWiring(ElectionConfig config, ApiClient client, String nodeName) {
    ExecutorScheduler loop = new ExecutorScheduler("vipgress-election-" + nodeName);
    ExecutorService io =
        Executors.newFixedThreadPool(
            config.apiConcurrency(),
            Thread.ofPlatform()
                .daemon()
                .name("vipgress-election-io-" + nodeName + "-", 0)
                .factory());
    ExecutorService liveness =
        Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("vipgress-election-liveness-" + nodeName).factory());
    ExecutorService events =
        Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("vipgress-election-events-" + nodeName).factory());
    LeaseApi api = new KubeLeaseApi(client, config.namespace(), config.apiTimeout());
    LeaseWatch watch =
        new KubeLeaseWatch(
            client,
            config.namespace(),
            Leases.SELECTOR,
            config.apiTimeout(),
            config.retryInterval(),
            nodeName);
    SecureRandom random = new SecureRandom();
    Supplier<String> incarnations = () -> Long.toHexString(random.nextLong() | (1L << 60));
    AutoCloseable resources =
        () -> {
          events.shutdown();
          liveness.shutdownNow();
          io.shutdownNow();
          loop.close();
        };
    return new Wiring(
        api, watch, loop, io, liveness, events, Clock.systemUTC(), incarnations, resources);
  }

  /** Lists and watches the Leases, claims this node's liveness Lease and starts competing. */
  public void start() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("already started");
    }
    log.info(
        "electorStarting node={} namespace={} leaseDuration={} renewInterval={}",
        c.node,
        c.config.namespace(),
        c.config.leaseDuration(),
        c.config.renewInterval());
    c.loop.execute(() -> c.phase = ElectorCore.Phase.SYNCING);
    c.wiring
        .watch()
        .start(
            new LeaseWatch.Sink() {
              @Override
              public void snapshot(List<V1Lease> leases) {
                List<V1Lease> copy = List.copyOf(leases);
                c.loop.execute(() -> c.view.applySnapshot(copy));
              }

              @Override
              public void event(String type, V1Lease lease) {
                c.loop.execute(() -> c.view.applyEvent(type, lease));
              }

              @Override
              public void broken(Throwable cause) {
                c.metrics.watchRestarts.inc();
                log.warn("leaseWatchBroken node={} cause={}", c.node, String.valueOf(cause));
                c.loop.execute(() -> c.liveness.viewFellBehind("watchBroken"));
              }
            });
  }

  /**
   * The VIPs this node competes for (IPv4/IPv6 literals; invalid ones are logged and skipped).
   * Idempotent and cheap when unchanged; never blocks. VIPs that leave the set are released.
   */
  public void setCandidacy(Set<String> vipLiterals) {
    Set<String> canonical = new HashSet<>();
    for (String s : vipLiterals) {
      try {
        canonical.add(VipAddress.parse(s).literal());
      } catch (IllegalArgumentException e) {
        log.warn("candidacyRejected node={} vip={} reason={}", c.node, s, e.getMessage());
      }
    }
    Set<String> frozen = Set.copyOf(canonical);
    c.loop.execute(() -> applyCandidacy(frozen));
  }

  /**
   * The data-path health of this node (L2: announcing interface up; BGP: a session established).
   * {@code false} hands all owned VIPs over at once and publishes the node as not eligible; {@code
   * true} makes it compete again. Defaults to healthy. Never blocks.
   */
  public void setHealthy(boolean value) {
    c.loop.execute(() -> applyHealthy(value));
  }

  /**
   * Holder node of every VIP Lease seen that is currently vouched for (all VIPs, not only ours).
   */
  public Map<String, String> owners() {
    return c.reporter.owners();
  }

  /** The local {@link System#nanoTime()} deadline of an owned VIP; empty if not owned. */
  public OptionalLong fencingDeadlineNanos(String vip) {
    String key;
    try {
      key = VipAddress.parse(vip).literal();
    } catch (IllegalArgumentException e) {
      return OptionalLong.empty();
    }
    return c.reporter.deadline(key);
  }

  /** This elector's node name. */
  public String nodeName() {
    return c.node;
  }

  /** A snapshot of this elector's metrics (the same values {@link #registerMetrics} exposes). */
  public ElectionMetrics metrics() {
    return new ElectionMetrics(
        c.reporter.ownedCount(),
        c.metrics.knownVips,
        c.metrics.candidateVips,
        c.metrics.liveNodes,
        c.metrics.eligibleNodes,
        c.metrics.apiHealthy,
        ElectionInstruments.value(c.metrics.acquisitions),
        c.metrics.losses(),
        ElectionInstruments.value(c.metrics.releases),
        ElectionInstruments.value(c.metrics.fences),
        ElectionInstruments.value(c.metrics.conflicts),
        ElectionInstruments.value(c.metrics.apiErrors),
        ElectionInstruments.value(c.metrics.renewals),
        ElectionInstruments.value(c.metrics.renewalFailures),
        ElectionInstruments.value(c.metrics.watchRestarts),
        ElectionInstruments.value(c.metrics.requests) + c.wiring.watch().requests());
  }

  /** Exposes this elector's {@code vipgress_election_*} metrics in {@code registry}. */
  public void registerMetrics(PrometheusRegistry registry) {
    c.metrics.register(registry);
  }

  /**
   * Releases every owned VIP (one write on the liveness Lease, after {@link ElectionListener#lost}
   * returned for each) so peers take over at once, then stops. Waits up to {@code shutdownTimeout}
   * for the write; do not call from the listener.
   */
  @Override
  public void close() {
    if (!closeStarted.compareAndSet(false, true)) {
      return;
    }
    log.info("electorStopping node={}", c.node);
    c.loop.executePriority(this::beginClose);
    boolean mayWait = !c.loop.inLoop() && !c.reporter.onEventThread();
    if (mayWait && started.get()) {
      try {
        if (!c.closeDone.await(c.config.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
          log.warn(
              "electorStopTimeout node={}: release not written within {}; peers take over after"
                  + " the lease duration",
              c.node,
              c.config.shutdownTimeout());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    c.wiring.watch().close();
    try {
      c.wiring.resources().close();
    } catch (Exception e) {
      log.warn("electorStopFailed node={}", c.node, e);
    }
    log.info("electorStopped node={}", c.node);
  }

  private void applyCandidacy(Set<String> next) {
    if (next.equals(c.candidacy)) {
      return;
    }
    Set<String> changed = new HashSet<>(next);
    changed.addAll(c.candidacy);
    for (String v : next) {
      if (c.candidacy.contains(v)) {
        changed.remove(v);
      }
    }
    c.candidacy = next;
    c.candidacyStamp = stamp(next);
    c.candidacyChangedAt = c.loop.nanoTime();
    c.metrics.candidateVips = next.size();
    log.debug("candidacyChanged node={} vips={} changed={}", c.node, next.size(), changed.size());
    for (String v : changed) {
      c.decider.evaluate(v);
    }
    c.writer.pump();
  }

  private void applyHealthy(boolean value) {
    if (value == c.healthy) {
      return;
    }
    c.healthy = value;
    log.info("healthChanged node={} healthy={}", c.node, value);
    if (!value) {
      c.liveness.bump(LossReason.UNHEALTHY);
    }
    c.decider.fullPass();
    c.liveness.renewNow();
  }

  private void beginClose() {
    c.closing = true;
    if (!c.liveness.ownEverWritten && !c.liveness.renewing) {
      c.phase = ElectorCore.Phase.CLOSED;
      c.closeDone.countDown();
      return;
    }
    c.liveness.bump(LossReason.SHUTDOWN); // evaluates every VIP: lost() for each owned one
    c.liveness.renewNow();
  }

  /** Candidacy fingerprint: peers with the same one compete for exactly the same VIPs. */
  static String stamp(Set<String> vips) {
    return vips.size()
        + ":"
        + Leases.sha256Hex(String.join(",", new TreeSet<>(vips))).substring(0, 16);
  }
}
