package dev.vipgress.election;

import static dev.vipgress.election.Leases.INCARNATION;

import dev.vipgress.election.ElectionListener.LossReason;
import dev.vipgress.election.OwnershipResolver.HolderState;
import dev.vipgress.election.OwnershipResolver.Resolved;
import dev.vipgress.election.Placement.Candidate;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

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
 *       order, the previous holder first ({@link Placement}). Owned VIPs never move while their
 *       owner is live, eligible and a candidate.
 * </ul>
 *
 * <p>Threads: one loop thread owns all state; one thread renews the liveness Lease; a small pool
 * ({@code apiConcurrency}) writes VIP Leases; one thread watches; one thread calls the listener.
 *
 * <p>Parts, all confined to the loop thread: {@link OwnershipResolver} (pure: who holds a VIP),
 * {@link OwnershipReporter} (listener events and the {@code lost()} barrier), {@link WriteQueue}
 * (Lease writes in lanes), {@link LeaseVersions} (which version the view takes, by equality only),
 * {@link Timers} (keyed timers) and {@link ElectionInstruments} (Prometheus metrics). This class
 * keeps the observations, liveness, genesis, rebalancing, garbage collection and the planning of
 * each write.
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

  private enum Phase {
    NEW,
    SYNCING,
    CLAIMING,
    STARTING,
    RUNNING,
    CLOSED
  }

  private record Tombstone(String holder, String incarnation) {}

  private enum KeyKind {
    VIP,
    FENCE,
    GENESIS,
    NODE_GC
  }

  /** What a queued write is about: a VIP's Lease, a peer's liveness Lease, or the genesis Lease. */
  private record Key(KeyKind kind, String id) {
    static Key vip(String v) {
      return new Key(KeyKind.VIP, v);
    }

    boolean fence() {
      return kind == KeyKind.FENCE;
    }
  }

  private static final Key GENESIS_KEY = new Key(KeyKind.GENESIS, Genesis.NAME);

  /** Where a VIP's holder comes from: its Lease, the tombstone of a deleted one, or the genesis. */
  private record Basis(V1Lease lease, String holder, String incarnation, boolean virtual) {}

  /** What a Lease write does; also its log label. */
  private enum OpKind {
    /** Re-read the Lease (after a 409, or when the view cannot tell which version is newer). */
    READ,
    /** Take a free VIP. */
    ACQUIRE,
    /** Rewrite an inherited (handed-off or genesis) VIP Lease in this node's name. */
    ADOPT,
    /** Write this node's deleted VIP Lease again. */
    RECREATE,
    /** Let a VIP go (after the lost() barrier). */
    RELEASE,
    /** Delete a released VIP Lease nobody took for {@code releasedLeaseGc}. */
    GC,
    /** Mark a lapsed peer's liveness Lease fenced, naming the heirs. */
    FENCE,
    /** Create the genesis Lease. */
    GENESIS,
    /** Delete the genesis Lease once every VIP it covers has a Lease. */
    GENESIS_DELETE,
    /** Delete the liveness Lease of a node gone for good. */
    NODE_GC
  }

  private record Op(Key key, OpKind kind, String leaseName, IoCall call) {}

  @FunctionalInterface
  private interface IoCall {
    V1Lease run(LeaseApi api) throws ApiException;
  }

  private final ElectionConfig config;
  private final String node;
  private final Wiring wiring;
  private final LeaseApi api;
  private final Scheduler loop;
  private final String ownLeaseName;
  private final long durationNanos;

  // ---- loop-confined state ----
  private Phase phase = Phase.NEW;
  private final Map<String, V1Lease> vips = new HashMap<>();
  private final LeaseVersions versions = new LeaseVersions();
  private final Timers timers;
  private final OwnershipReporter reporter;
  private final Map<String, Tombstone> tombstones = new HashMap<>();
  private V1Lease genesisLease;
  private Genesis genesis;
  private long genesisSince;

  /**
   * Uid of a genesis Lease this node learnt of from a response (its create, or a read after a 409)
   * and waits to see from the watch: until then no other is written.
   */
  private String genesisAwaited;

  private final Set<String> genesisUidsWatched = new LinkedHashSet<>();
  private final Map<String, Long> declined = new HashMap<>();
  private long candidacyChangedAt;
  private long genesisDueAt = Long.MIN_VALUE;
  private final Map<String, Peer> peers = new HashMap<>();
  private List<Peer> eligiblePeers = List.of();
  private final Map<String, Long> freeSince = new HashMap<>();
  private final Map<String, Long> frozenDeadlines = new HashMap<>();

  private final WriteQueue<Key> writes;
  private final Set<String> readBeforeWrite = new HashSet<>();
  private boolean acquireBlocked;

  private Set<String> candidacy = Set.of();
  private String candidacyStamp = stamp(Set.of());
  private boolean healthy = true;
  private boolean closing;
  private LossReason dropReason;

  private String incarnation;
  private final Set<String> myIncarnations = new HashSet<>();
  private final Map<String, Handoffs.Entry> pendingHandoffs = new LinkedHashMap<>();
  private boolean ownNeedsCreate;
  private V1Lease own;
  private boolean ownWritten;
  private boolean ownEverWritten;
  private long nodeDeadline = Long.MIN_VALUE;
  private boolean renewing;
  private long renewSentAt;
  private long nextRenewAt;
  private boolean lastRenewOk = true;
  private boolean renewFailedSinceOk;
  private long resyncAt = Long.MIN_VALUE;
  private long runningSince;
  private long lastPeerJoin = Long.MIN_VALUE;
  private final Set<String> everEligible = new HashSet<>();

  /**
   * Whether the Lease view is known to hold everything up to this node's latest liveness write.
   * False from a failed renewal, a re-created liveness Lease or a broken watch until the watch (or
   * a re-list) delivers this node's own Lease at a version one of its writes since returned: the
   * watch delivers in commit order, so every change before that write is in the view too. Until
   * then nothing new is claimed (VIPs still held on an unbroken deadline stay).
   */
  private boolean viewCurrent = true;

  private final Set<String> ownWrittenVersions = new HashSet<>();
  private final Set<String> ownSeenVersions = new HashSet<>();

  // ---- read from any thread ----
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean closeStarted = new AtomicBoolean();
  private final CountDownLatch closeDone = new CountDownLatch(1);
  private final ElectionInstruments metrics;

  /** Handoff records kept on a liveness Lease before unreferenced ones are dropped. */
  private static final int KEEP_HANDOFFS = 4;

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
    this.config = Objects.requireNonNull(config, "config");
    this.node = Objects.requireNonNull(nodeName, "nodeName");
    if (nodeName.isEmpty()) {
      throw new IllegalArgumentException("nodeName must not be empty");
    }
    Objects.requireNonNull(listener, "listener");
    this.wiring = wiring;
    this.api = wiring.api();
    this.loop = wiring.loop();
    this.ownLeaseName = Leases.nodeLeaseName(nodeName);
    this.durationNanos = config.leaseDuration().toNanos();
    this.incarnation = newIncarnation();
    this.writes = new WriteQueue<>(config.apiConcurrency());
    this.timers = new Timers(loop);
    this.reporter =
        new OwnershipReporter(node, listener, loop, wiring.events(), timers, this::lostDelivered);
    this.metrics = new ElectionInstruments(reporter::ownedCount, wiring.watch()::requests);
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

  // =====================================================================================
  // Public API
  // =====================================================================================

  /** Lists and watches the Leases, claims this node's liveness Lease and starts competing. */
  public void start() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("already started");
    }
    log.info(
        "electorStarting node={} namespace={} leaseDuration={} renewInterval={}",
        node,
        config.namespace(),
        config.leaseDuration(),
        config.renewInterval());
    loop.execute(() -> phase = Phase.SYNCING);
    wiring
        .watch()
        .start(
            new LeaseWatch.Sink() {
              @Override
              public void snapshot(List<V1Lease> leases) {
                List<V1Lease> copy = List.copyOf(leases);
                loop.execute(() -> applySnapshot(copy));
              }

              @Override
              public void event(String type, V1Lease lease) {
                loop.execute(() -> applyEvent(type, lease));
              }

              @Override
              public void broken(Throwable cause) {
                metrics.watchRestarts.inc();
                log.warn("leaseWatchBroken node={} cause={}", node, String.valueOf(cause));
                loop.execute(() -> viewFellBehind("watchBroken"));
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
        log.warn("candidacyRejected node={} vip={} reason={}", node, s, e.getMessage());
      }
    }
    Set<String> frozen = Set.copyOf(canonical);
    loop.execute(() -> applyCandidacy(frozen));
  }

  /**
   * The data-path health of this node (L2: announcing interface up; BGP: a session established).
   * {@code false} hands all owned VIPs over at once and publishes the node as not eligible; {@code
   * true} makes it compete again. Defaults to healthy. Never blocks.
   */
  public void setHealthy(boolean value) {
    loop.execute(() -> applyHealthy(value));
  }

  /**
   * Holder node of every VIP Lease seen that is currently vouched for (all VIPs, not only ours).
   */
  public Map<String, String> owners() {
    return reporter.owners();
  }

  /** The local {@link System#nanoTime()} deadline of an owned VIP; empty if not owned. */
  public OptionalLong fencingDeadlineNanos(String vip) {
    String key;
    try {
      key = VipAddress.parse(vip).literal();
    } catch (IllegalArgumentException e) {
      return OptionalLong.empty();
    }
    return reporter.deadline(key);
  }

  /** This elector's node name. */
  public String nodeName() {
    return node;
  }

  /** A snapshot of this elector's metrics (the same values {@link #registerMetrics} exposes). */
  public ElectionMetrics metrics() {
    return new ElectionMetrics(
        reporter.ownedCount(),
        metrics.knownVips,
        metrics.candidateVips,
        metrics.liveNodes,
        metrics.eligibleNodes,
        metrics.apiHealthy,
        ElectionInstruments.value(metrics.acquisitions),
        metrics.losses(),
        ElectionInstruments.value(metrics.releases),
        ElectionInstruments.value(metrics.fences),
        ElectionInstruments.value(metrics.conflicts),
        ElectionInstruments.value(metrics.apiErrors),
        ElectionInstruments.value(metrics.renewals),
        ElectionInstruments.value(metrics.renewalFailures),
        ElectionInstruments.value(metrics.watchRestarts),
        ElectionInstruments.value(metrics.requests) + wiring.watch().requests());
  }

  /** Exposes this elector's {@code vipgress_election_*} metrics in {@code registry}. */
  public void registerMetrics(PrometheusRegistry registry) {
    metrics.register(registry);
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
    log.info("electorStopping node={}", node);
    loop.executePriority(this::beginClose);
    boolean mayWait = !loop.inLoop() && !reporter.onEventThread();
    if (mayWait && started.get()) {
      try {
        if (!closeDone.await(config.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
          log.warn(
              "electorStopTimeout node={}: release not written within {}; peers take over after"
                  + " the lease duration",
              node,
              config.shutdownTimeout());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    wiring.watch().close();
    try {
      wiring.resources().close();
    } catch (Exception e) {
      log.warn("electorStopFailed node={}", node, e);
    }
    log.info("electorStopped node={}", node);
  }

  // =====================================================================================
  // Inputs (loop)
  // =====================================================================================

  private void applyCandidacy(Set<String> next) {
    if (next.equals(candidacy)) {
      return;
    }
    Set<String> changed = new HashSet<>(next);
    changed.addAll(candidacy);
    for (String v : next) {
      if (candidacy.contains(v)) {
        changed.remove(v);
      }
    }
    candidacy = next;
    candidacyStamp = stamp(next);
    candidacyChangedAt = loop.nanoTime();
    metrics.candidateVips = next.size();
    log.debug("candidacyChanged node={} vips={} changed={}", node, next.size(), changed.size());
    for (String v : changed) {
      evaluate(v);
    }
    pump();
  }

  private void applyHealthy(boolean value) {
    if (value == healthy) {
      return;
    }
    healthy = value;
    log.info("healthChanged node={} healthy={}", node, value);
    if (!value) {
      bump(LossReason.UNHEALTHY);
    }
    fullPass();
    renewNow();
  }

  private void beginClose() {
    closing = true;
    if (!ownEverWritten && !renewing) {
      phase = Phase.CLOSED;
      closeDone.countDown();
      return;
    }
    bump(LossReason.SHUTDOWN); // evaluates every VIP: lost() for each owned one
    renewNow();
  }

  // =====================================================================================
  // Observations (loop)
  // =====================================================================================

  private void applySnapshot(List<V1Lease> leases) {
    long now = loop.nanoTime();
    resyncAt = now;
    Set<String> seenVips = new HashSet<>();
    Set<String> seenNodes = new HashSet<>();
    for (V1Lease l : leases) {
      if (Leases.isNodeLease(l)) {
        seenNodes.add(Leases.nodeOf(l));
        // a liveness Lease the list shows older than a fence we wrote only delays a takeover
        versions.forget(Leases.name(l));
        applyNodeLease(l, now);
        ownVersionSeen(l);
      }
    }
    for (V1Lease l : leases) {
      if (Leases.isVipLease(l)) {
        VipAddress vip = Leases.vipOf(l);
        if (vip != null) {
          seenVips.add(vip.literal());
          if (versions.listed(Leases.name(l), Leases.resourceVersion(l))
              == LeaseVersions.Listed.TAKE) {
            applyVipLease(l, now, false);
          } else {
            readAgain(vip.literal());
          }
        }
      }
    }
    for (String v : new ArrayList<>(vips.keySet())) {
      if (!seenVips.contains(v)) {
        if (versions.listed(VipAddress.parse(v).leaseName(), null) == LeaseVersions.Listed.TAKE) {
          removeVip(v, false);
        } else {
          readAgain(v);
        }
      }
    }
    V1Lease g = leases.stream().filter(Genesis::isGenesisLease).findFirst().orElse(null);
    versions.forget(Genesis.NAME);
    genesisAwaited = null; // a list is one consistent cut: what it lacks is written again
    if (g != null) {
      genesisWatched(g);
    }
    if (g != null) {
      applyGenesis(g, now);
    } else {
      removeGenesis();
    }
    for (Peer p : peers.values()) {
      if (p.lease != null && !seenNodes.contains(p.node)) {
        p.referencedIncarnation = p.incarnation();
        p.lease = null;
        p.changedAt = now;
      }
    }
    log.debug("leaseSnapshot node={} leases={}", node, leases.size());
    refreshPeers(now);
    fullPass();
    if (phase == Phase.SYNCING) {
      startClaim();
    }
  }

  private void applyEvent(String type, V1Lease l) {
    long now = loop.nanoTime();
    boolean deleted = "DELETED".equals(type);
    if (!versions.watched(Leases.name(l), Leases.resourceVersion(l))) {
      return; // precedes a version this node already took from a response
    }
    if (Leases.isNodeLease(l)) {
      if (deleted) {
        removeNode(Leases.nodeOf(l), now);
      } else {
        applyNodeLease(l, now);
        ownVersionSeen(l);
      }
    } else if (Genesis.isGenesisLease(l)) {
      genesisWatched(l);
      if (deleted) {
        removeGenesis();
      } else {
        applyGenesis(l, now);
      }
    } else if (Leases.isVipLease(l)) {
      VipAddress vip = Leases.vipOf(l);
      if (vip == null) {
        return;
      }
      if (deleted) {
        removeVip(vip.literal(), true);
      } else {
        applyVipLease(l, now, true);
      }
    }
    pump();
  }

  /** A version of a VIP Lease seen from the watch or a response; older versions are ignored. */
  private void applyVipLease(V1Lease l, long now, boolean evaluate) {
    VipAddress vip = Leases.vipOf(l);
    if (vip == null) {
      return;
    }
    String v = vip.literal();
    V1Lease old = vips.get(v);
    String h = Leases.holder(l);
    if (!h.isEmpty()
        && !h.equals(node)
        && (old == null
            || !h.equals(Leases.holder(old))
            || !Objects.equals(
                Leases.annotation(old, INCARNATION), Leases.annotation(l, INCARNATION)))) {
      peer(h, now).lastProgress = now;
    }
    vips.put(v, l);
    tombstones.remove(v);
    metrics.knownVips = vips.size();
    if (evaluate) {
      evaluate(v);
    }
  }

  private void removeVip(String v, boolean evaluate) {
    V1Lease old = vips.get(v);
    versions.forget(VipAddress.parse(v).leaseName());
    if (old == null) {
      return;
    }
    vips.remove(v);
    metrics.knownVips = vips.size();
    String h = Leases.holder(old);
    if (!h.isEmpty()) {
      tombstones.put(v, new Tombstone(h, Leases.annotation(old, INCARNATION)));
    } else {
      tombstones.remove(v);
    }
    logVip(v, () -> log.info("leaseDeleted vip={} lastHolder={}", v, h.isEmpty() ? "-" : h));
    if (evaluate) {
      evaluate(v);
    }
  }

  private void applyGenesis(V1Lease l, long now) {
    if (genesisLease != null
        && Objects.equals(Leases.uid(genesisLease), Leases.uid(l))
        && Objects.equals(Leases.resourceVersion(genesisLease), Leases.resourceVersion(l))) {
      return;
    }
    boolean fresh =
        genesisLease == null || !Objects.equals(Leases.uid(genesisLease), Leases.uid(l));
    genesisLease = l;
    genesis = Leases.sameProtocol(l) ? Genesis.of(l) : null; // another version's: not followed
    genesisDueAt = Long.MIN_VALUE;
    if (fresh) {
      genesisSince = now;
      if (genesis == null && !Leases.sameProtocol(l)) {
        log.atWarn()
            .addKeyValue("node", node)
            .addKeyValue("protocol", Leases.annotation(l, Leases.PROTOCOL))
            .log("genesisOfAnotherProtocol: not followed; left to the nodes of that version");
      } else if (genesis == null) {
        log.warn(
            "genesisMalformed node={} lease={}: unusable annotations; it will be deleted",
            node,
            Genesis.NAME);
      } else {
        log.info(
            "genesisSeen node={} members={} ranges={}",
            node,
            genesis.members().heirs().keySet(),
            genesis.ranges().size());
      }
    }
    scheduleGenesisCheck();
    fullPass();
  }

  /** The watch (or a list) delivered this genesis Lease: it is not awaited any more. */
  private void genesisWatched(V1Lease l) {
    String uid = Leases.uid(l);
    if (uid == null) {
      return;
    }
    if (uid.equals(genesisAwaited)) {
      genesisAwaited = null;
    }
    genesisUidsWatched.add(uid);
    if (genesisUidsWatched.size() > 8) {
      genesisUidsWatched.remove(genesisUidsWatched.iterator().next());
    }
  }

  private void removeGenesis() {
    if (genesisLease == null) {
      return;
    }
    Genesis before = genesis;
    genesisLease = null;
    genesis = null;
    log.info("genesisDeleted node={}", node);
    if (before != null) {
      before.forEachVip(this::evaluate);
    }
    fullPass();
  }

  /** While a genesis Lease exists: delete it once done, tidy VIPs nobody materialises. */
  private void scheduleGenesisCheck() {
    timers.arm(
        Timers.Job.GENESIS_CHECK,
        config.renewInterval().toNanos(),
        () -> {
          if (genesisLease == null || phase == Phase.CLOSED) {
            return;
          }
          checkGenesis();
          pump();
          scheduleGenesisCheck();
        });
  }

  private void checkGenesis() {
    long now = loop.nanoTime();
    if (phase != Phase.RUNNING || closing || !isGcNode(Genesis.NAME, now)) {
      return;
    }
    if (genesisDone()) {
      enqueue(GENESIS_KEY, false); // delete it
      return;
    }
    if (now - genesisSince - config.placementFallback().toNanos() < 0) {
      return;
    }
    genesis.forEachVip(
        v -> {
          Basis b = basis(v);
          if (b.virtual()
              && !candidacy.contains(v)
              && resolve(v, b.holder(), b.incarnation(), now).state() == HolderState.FREE) {
            enqueue(Key.vip(v), false); // nobody we know wants it: write it as released
          }
        });
  }

  /** Whether the genesis Lease has served: each VIP it covers has a Lease (or it is malformed). */
  private boolean genesisDone() {
    if (genesis == null) {
      // malformed: done; another protocol version's: left to the nodes of that version
      return genesisLease == null || Leases.sameProtocol(genesisLease);
    }
    boolean[] done = {true};
    genesis.forEachVip(
        v -> {
          if (!vips.containsKey(v)) {
            done[0] = false;
          }
        });
    return done[0];
  }

  private void applyNodeLease(V1Lease l, long now) {
    String x = Leases.nodeOf(l);
    Peer p = peer(x, now);
    if (p.lease != null
        && Objects.equals(Leases.resourceVersion(l), Leases.resourceVersion(p.lease))) {
      return;
    }
    String before = p.semantics();
    p.lease = l;
    p.changedAt = now;
    boolean changed = !before.equals(p.semantics());
    if (p.lapsed) {
      p.lapsed = false;
      changed = true;
      log.info("nodeLive node={} peer={}", node, x);
    }
    scheduleLapseCheck(p, now);
    if (x.equals(node)) {
      onOwnObserved(l);
    }
    if (changed) {
      refreshPeers(now);
      if (!x.equals(node)) {
        // the VIPs this peer held may have moved (a handoff, a fence): those first, then the rest
        for (Map.Entry<String, Optional<String>> e :
            new ArrayList<>(reporter.reportedOwners().entrySet())) {
          if (e.getValue().isPresent() && e.getValue().get().equals(x)) {
            evaluate(e.getKey());
          }
        }
      }
      fullPass();
    }
  }

  private void removeNode(String x, long now) {
    Peer p = peers.get(x);
    if (p == null || p.lease == null) {
      return;
    }
    p.referencedIncarnation = p.incarnation();
    p.lease = null;
    p.changedAt = now;
    log.info("nodeLeaseDeleted node={} peer={}", node, x);
    scheduleLapseCheck(p, now);
    if (x.equals(node) && phase == Phase.RUNNING) {
      renewNow();
    }
    refreshPeers(now);
    fullPass();
  }

  private Peer peer(String x, long now) {
    Peer p = peers.get(x);
    if (p == null) {
      p = new Peer(x, now);
      peers.put(x, p);
      scheduleLapseCheck(p, now);
    }
    return p;
  }

  private long lapseAt(Peer p) {
    return Math.max(p.changedAt, resyncAt) + p.durationNanos(durationNanos);
  }

  private boolean lapsed(Peer p, long now) {
    return now - lapseAt(p) >= 0;
  }

  private void scheduleLapseCheck(Peer p, long now) {
    if (p.checkScheduled || p.node.equals(node)) {
      return;
    }
    p.checkScheduled = true;
    loop.schedule(() -> checkLapse(p), Math.max(0, lapseAt(p) - now));
  }

  private void checkLapse(Peer p) {
    p.checkScheduled = false;
    long now = loop.nanoTime();
    boolean l = lapsed(p, now);
    if (l != p.lapsed) {
      p.lapsed = l;
      if (l && p.present() && !p.fenced() && !p.stopped()) {
        log.info(
            "nodeLapsed node={} peer={} silentMs={}",
            node,
            p.node,
            (now - Math.max(p.changedAt, resyncAt)) / 1_000_000);
      }
      refreshPeers(now);
      fullPass();
    }
    if (!l) {
      scheduleLapseCheck(p, now);
    }
  }

  /** Recomputes the eligible peers (for placement) and the node gauges. */
  private void refreshPeers(long now) {
    List<Peer> eligible = new ArrayList<>();
    int live = 0;
    for (Peer p : peers.values()) {
      if (p.node.equals(node)) {
        continue;
      }
      boolean isEligible = false;
      if (p.present() && !p.fenced() && !p.stopped() && !lapsed(p, now)) {
        live++;
        if (p.eligibleFlag() && p.sameProtocol()) {
          eligible.add(p);
          isEligible = true;
        }
      }
      if (!isEligible) {
        p.liveSince = Long.MIN_VALUE;
      } else if (p.liveSince == Long.MIN_VALUE) {
        p.liveSince = now;
      }
    }
    eligiblePeers = List.copyOf(eligible);
    for (Peer p : eligible) {
      if (everEligible.add(p.node) && phase == Phase.RUNNING && now - graceEnd() < 0) {
        lastPeerJoin = now;
        loop.schedule(this::fullPass, Math.max(0, graceEnd() - now));
      }
    }
    boolean selfLive = phase == Phase.RUNNING && ownValid(now);
    metrics.liveNodes = live + (selfLive ? 1 : 0);
    metrics.eligibleNodes = eligible.size() + (selfLive && healthy && !closing ? 1 : 0);
  }

  // =====================================================================================
  // Decisions (loop)
  // =====================================================================================

  /** Who holds {@code v} now in this node's view ({@link OwnershipResolver}). */
  private Resolved resolve(String v, String holder, String inc, long now) {
    return OwnershipResolver.resolve(
        v,
        holder,
        inc,
        new OwnershipResolver.View() {
          @Override
          public String self() {
            return node;
          }

          @Override
          public String incarnation() {
            return incarnation;
          }

          @Override
          public Map<String, Handoffs.Entry> ownHandoffs() {
            return LeaseElector.this.ownHandoffs();
          }

          @Override
          public Peer peer(String x) {
            return LeaseElector.this.peer(x, now);
          }

          @Override
          public boolean lapsed(Peer p) {
            return LeaseElector.this.lapsed(p, now);
          }
        });
  }

  /** Handoff records on this node's own liveness Lease, as last written or seen. */
  private Map<String, Handoffs.Entry> ownHandoffs() {
    V1Lease l = own;
    Peer self = peers.get(node);
    if (self != null && self.lease != null) {
      return self.handoffs(); // the view takes this node's own writes as they are answered
    }
    return l == null ? Map.of() : Handoffs.parse(Leases.annotation(l, Leases.HANDOFF));
  }

  private boolean ownValid(long now) {
    return ownWritten && nodeDeadline - now > 0;
  }

  private boolean canAcquire(long now) {
    return phase == Phase.RUNNING
        && !closing
        && healthy
        && ownValid(now)
        && nodeDeadline - now > config.retryInterval().toNanos()
        && now - graceEnd() >= 0
        && viewCurrent;
  }

  /**
   * Free VIPs are taken only after the startup grace, which restarts (up to ten times its length)
   * whenever a peer joins meanwhile: nodes started together see each other before placing VIPs.
   */
  private long graceEnd() {
    long grace = config.startupGrace().toNanos();
    long end = runningSince + grace;
    if (lastPeerJoin != Long.MIN_VALUE && lastPeerJoin + grace - end > 0) {
      end = Math.min(lastPeerJoin + grace, runningSince + 10 * grace);
    }
    return end;
  }

  /** Whether this node's own API access is good enough to judge others (never while stuck). */
  private boolean apiHealthy(long now) {
    return lastRenewOk && (!renewing || now - renewSentAt < durationNanos / 4);
  }

  /** Posts one evaluation of every VIP (coalesced). */
  private void fullPass() {
    timers.arm(
        Timers.Job.FULL_PASS,
        0,
        () -> {
          evaluateAll();
          pump();
        });
  }

  private void evaluateAll() {
    Set<String> all = new HashSet<>(vips.keySet());
    if (genesis != null) {
      genesis.forEachVip(all::add);
    }
    all.addAll(tombstones.keySet());
    all.addAll(candidacy);
    all.addAll(reporter.announcedVips());
    all.addAll(reporter.reportedOwners().keySet());
    for (String v : all) {
      evaluate(v);
    }
  }

  /**
   * The holder a VIP's state starts from: its Lease; else the tombstone of its deleted Lease; else
   * the genesis Lease covering it (a virtual Lease); else nobody.
   */
  private Basis basis(String v) {
    V1Lease l = vips.get(v);
    if (l != null) {
      return new Basis(l, Leases.holder(l), Leases.annotation(l, INCARNATION), false);
    }
    Tombstone t = tombstones.get(v);
    if (t != null) {
      return new Basis(null, t.holder(), t.incarnation(), false);
    }
    if (genesis != null && genesis.covers(v)) {
      String[] h = genesis.holderOf(v);
      return new Basis(null, h[0], h[1], true);
    }
    return new Basis(null, "", null, false);
  }

  private boolean covered(String v) {
    return genesis != null && genesis.covers(v);
  }

  /** Level-triggered: from what is known now, report ownership of {@code v} and queue writes. */
  private void evaluate(String v) {
    long now = loop.nanoTime();
    Basis b = basis(v);
    V1Lease l = b.lease();
    Resolved r = resolve(v, b.holder(), b.incarnation(), now);
    HolderState hs = r.state();
    String holder = r.holder();
    boolean want = wants(v, now);

    boolean mine =
        hs == HolderState.MINE
            && want
            && healthy
            && !closing
            && ownValid(now)
            && (viewCurrent || reporter.announced(v));
    if (l != null || b.virtual() || hs != HolderState.MINE) {
      frozenDeadlines.remove(v);
    } else if (mine) {
      // Our Lease was deleted: keep the VIP only on the deadline we had, while we re-create it.
      long frozen = frozenDeadlines.computeIfAbsent(v, k -> nodeDeadline);
      mine = frozen - now > 0;
      if (mine) {
        wake(v, frozen, now); // one keyed timer, however often it is evaluated meanwhile
      }
    }
    report(v, mine, hs, want, now);
    Optional<String> owner =
        mine
            ? Optional.of(node)
            : (hs == HolderState.HELD || hs == HolderState.NEEDS_FENCE)
                ? Optional.of(holder)
                : Optional.empty();
    reportOwner(v, owner);

    if (phase != Phase.RUNNING || closing) {
      return;
    }
    switch (hs) {
      case MINE -> {
        freeSince.remove(v);
        if (b.virtual() && want) {
          // given by the genesis Lease: write the VIP Lease in our name, in the background
          adopt(v);
        } else if (l == null || !want) {
          enqueue(Key.vip(v), true); // re-create a deleted Lease, or release
        } else if (!r.direct()) {
          adopt(v); // inherited: write the Lease in our name, in the background
        }
      }
      case NEEDS_FENCE -> {
        freeSince.remove(v);
        requestFence(holder);
      }
      case HELD -> freeSince.remove(v);
      case FREE -> {
        long since = freeSince.computeIfAbsent(v, k -> now);
        if (want) {
          if (aheadOfView(b)) {
            return; // judged again when the watch delivers this version (applyEvent)
          }
          if (!canAcquire(now)) {
            // retried after the next renewal if only our deadline margin stood in the way
            acquireBlocked |= healthy && phase == Phase.RUNNING && now - graceEnd() >= 0;
          } else if (l == null && !b.virtual()) {
            requestGenesis(); // a VIP without a Lease gets its first owner from a genesis Lease
          } else {
            long due = placementDue(v, l, holder, since, now);
            if (due - now <= 0) {
              enqueue(Key.vip(v), false);
            } else {
              wake(v, due, now);
            }
          }
        } else if (l != null && holder.isEmpty() && !covered(v)) {
          long due = since + config.releasedLeaseGc().toNanos();
          if (due - now <= 0) {
            if (isGcNode(v, now)) {
              enqueue(Key.vip(v), false);
            }
          } else {
            wake(v, due, now);
          }
        }
      }
    }
  }

  /**
   * Whether {@code b} is a VIP Lease held by a peer in a version the watch has not delivered yet (a
   * read after a 409 or an ambiguous re-list). It may be newer than the view of the liveness
   * Leases: an incarnation the view does not know yet looks ended, so it is not judged free until
   * the watch has delivered it (and with it every liveness Lease committed before).
   */
  private boolean aheadOfView(Basis b) {
    return b.lease() != null
        && !b.holder().isEmpty()
        && !b.holder().equals(node)
        && versions.ahead(Leases.name(b.lease()));
  }

  /** When this node may take free VIP {@code v}: now if it is first in the placement order. */
  private long placementDue(String v, V1Lease l, String previous, long since, long now) {
    String declined = l != null ? Leases.annotation(l, Leases.RELEASED_BY) : null;
    long vipHash = Placement.hash(v);
    int rank = 0;
    boolean allCertain = true;
    long base = since;
    for (Peer p : eligiblePeers) {
      if (p.node.equals(declined) || !Placement.before(vipHash, p.node, node, previous)) {
        continue; // it let this VIP go on purpose, or it comes after us
      }
      rank++;
      if (!candidacyStamp.equals(p.candidacy())) {
        allCertain = false;
        continue;
      }
      if (p.lastProgress != Long.MIN_VALUE && p.lastProgress - base > 0) {
        base = p.lastProgress;
      }
      // a peer that just joined is still in its own startup grace
      if (p.liveSince != Long.MIN_VALUE && !config.placementFallback().isZero()) {
        long joined = p.liveSince + 2 * config.startupGrace().toNanos();
        if (joined - base > 0) {
          base = joined;
        }
      }
    }
    if (rank == 0) {
      return now;
    }
    return allCertain
        ? base + rank * config.placementFallback().toNanos()
        : since + rank * config.placementStagger().toNanos();
  }

  /** The node that garbage-collects a released Lease: first in rendezvous order of live nodes. */
  private boolean isGcNode(String v, long now) {
    if (!ownValid(now)) {
      return false;
    }
    List<Candidate> cands = new ArrayList<>();
    cands.add(new Candidate(node, true));
    for (Peer p : peers.values()) {
      if (!p.node.equals(node)
          && p.present()
          && p.sameProtocol()
          && !p.fenced()
          && !p.stopped()
          && !lapsed(p, now)) {
        cands.add(new Candidate(p.node, true));
      }
    }
    return Placement.rank(v, cands, null).get(0).node().equals(node);
  }

  private void wake(String v, long due, long now) {
    timers.arm(
        new Timers.Wake(v),
        due - now,
        () -> {
          evaluate(v);
          pump();
        });
  }

  private void requestFence(String x) {
    enqueue(new Key(KeyKind.FENCE, x), true);
  }

  /**
   * Asks for a genesis Lease for the VIPs that have no Lease; waits while another one exists. The
   * first node in rendezvous order for the genesis writes it at once, the others one placement
   * stagger per rank later (if it is still missing); and nobody writes it while a live eligible
   * peer still publishes another candidacy, for up to one renewal after our own candidacy changed,
   * so peers that learn of a new VIP a moment later are still members.
   */
  private void requestGenesis() {
    if (genesisLease != null || genesisAwaited != null) {
      return;
    }
    long now = loop.nanoTime();
    long hash = Placement.hash(Genesis.NAME);
    int rank = 0;
    boolean settled = true;
    for (Peer p : eligiblePeers) {
      if (!candidacyStamp.equals(p.candidacy())) {
        settled = false;
      } else if (Placement.before(hash, p.node, node, null)) {
        rank++;
      }
    }
    if (genesisDueAt == Long.MIN_VALUE) {
      genesisDueAt = now + rank * config.placementStagger().toNanos();
    }
    long due = genesisDueAt;
    long settleBy = candidacyChangedAt + config.renewInterval().toNanos() + durationNanos / 4;
    if (!settled && settleBy - due > 0) {
      due = settleBy;
    }
    if (due - now <= 0) {
      enqueue(GENESIS_KEY, false);
      return;
    }
    timers.arm(
        Timers.Job.GENESIS_WAKE,
        due - now,
        () -> {
          if (genesisLease == null) {
            fullPass(); // VIPs without a Lease ask again, now as the due time has come
          }
        });
  }

  // =====================================================================================
  // Reporting (loop → event thread)
  // =====================================================================================

  private void report(String v, boolean mine, HolderState hs, boolean want, long now) {
    boolean was = reporter.announced(v);
    if (mine && !was) {
      long deadline = frozenDeadlines.getOrDefault(v, nodeDeadline);
      metrics.acquisitions.inc();
      logVip(
          v,
          () -> log.info("leaseAcquired vip={} deadlineInMs={}", v, (deadline - now) / 1_000_000));
      reporter.acquired(v, deadline, frozenDeadlines.containsKey(v));
    } else if (!mine && was) {
      LossReason why;
      if (closing) {
        why = LossReason.SHUTDOWN;
      } else if (!healthy) {
        why = LossReason.UNHEALTHY;
      } else if (!want && candidacy.contains(v)) {
        why = LossReason.REBALANCED;
      } else if (!want) {
        why = LossReason.CANDIDACY;
      } else if (hs == HolderState.MINE) {
        why = LossReason.DEADLINE;
      } else if (dropReason != null && vips.get(v) != null && node.equals(holderOf(v))) {
        why = dropReason;
      } else {
        why = LossReason.TAKEN;
      }
      metrics.lost(why);
      logVip(v, () -> log.info("leaseLost vip={} reason={}", v, why));
      reporter.lost(v, why);
    } else if (mine) {
      reporter.stillOwned(v, frozenDeadlines.get(v));
    }
  }

  private String holderOf(String v) {
    V1Lease l = vips.get(v);
    return l == null ? "" : Leases.holder(l);
  }

  private void reportOwner(String v, Optional<String> owner) {
    reporter.owner(v, owner);
  }

  /** The listener has stopped serving {@code lost} (or their deadline passed): release them. */
  private void lostDelivered(Set<String> lost) {
    if (!reporter.anyReleasePending() && !ownWritten && !renewing) {
      renewNow(); // the bulk release
    }
    for (String v : lost) {
      if ((!candidacy.contains(v) || declined.containsKey(v)) && !closing) {
        evaluate(v); // the single release of a VIP that left the candidacy
      }
    }
    pump();
  }

  /** Hands a task to one of the elector's threads; after close they refuse, which is fine. */
  private static void submit(Executor executor, Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  // =====================================================================================
  // VIP Lease writes (loop → io pool → loop)
  // =====================================================================================

  private void enqueue(Key k, boolean isUrgent) {
    writes.add(k, isUrgent ? WriteQueue.Lane.URGENT : WriteQueue.Lane.NORMAL);
  }

  /** Inherited VIPs are rewritten in our name a few at a time: it is tidying, not urgent. */
  private void adopt(String v) {
    writes.add(Key.vip(v), WriteQueue.Lane.ADOPT);
  }

  /** Plans and sends the queued writes the {@link WriteQueue} lets start now. */
  private void pump() {
    Key k;
    while ((k = writes.next()) != null) {
      Op op =
          switch (k.kind()) {
            case FENCE -> planFence(k);
            case GENESIS -> planGenesis(k);
            case NODE_GC -> planNodeGc(k);
            case VIP -> planVip(k);
          };
      if (op == null) {
        continue;
      }
      metrics.requests.inc();
      writes.started(k, op.kind() == OpKind.ADOPT);
      submit(
          wiring.io(),
          () -> {
            V1Lease result = null;
            ApiException error = null;
            try {
              result = op.call().run(api);
            } catch (ApiException e) {
              error = e;
            } catch (RuntimeException e) {
              error = new ApiException(e);
            }
            V1Lease r = result;
            ApiException err = error;
            loop.execute(() -> onOpDone(op, r, err));
          });
    }
  }

  private Op planVip(Key k) {
    String v = k.id();
    long now = loop.nanoTime();
    if (phase != Phase.RUNNING || closing) {
      return null;
    }
    String name = VipAddress.parse(v).leaseName();
    if (readBeforeWrite.remove(name)) {
      return new Op(k, OpKind.READ, name, a -> a.get(name));
    }
    Basis b = basis(v);
    V1Lease l = b.lease();
    String holder = b.holder();
    Resolved resolved = resolve(v, holder, b.incarnation(), now);
    HolderState hs = resolved.state();
    boolean want = wants(v, now);
    OffsetDateTime wall = OffsetDateTime.now(wiring.wallClock());
    if (hs == HolderState.MINE) {
      if (!viewCurrent && !reporter.announced(v)) {
        return null; // claimed only once the view has caught up (a fullPass follows)
      }
      if (reporter.releasePending(v)) {
        return null; // released after the listener heard lost(); lostDelivered re-evaluates
      }
      if (l == null) {
        boolean keep = want && healthy && canHold(now);
        V1Lease body = newVipLease(v, keep ? node : "", wall, null);
        OpKind kind = !keep ? OpKind.RELEASE : b.virtual() ? OpKind.ADOPT : OpKind.RECREATE;
        return new Op(k, kind, name, a -> a.create(body));
      }
      if (!want) {
        V1Lease body = Leases.copy(l);
        body.getSpec().holderIdentity(null);
        body.getMetadata().getAnnotations().remove(INCARNATION);
        body.getMetadata().getAnnotations().put(Leases.RELEASED_BY, node);
        return new Op(k, OpKind.RELEASE, name, a -> a.replace(body));
      }
      if (!resolved.direct() && canHold(now)) {
        return new Op(k, OpKind.ADOPT, name, a -> a.replace(takeOver(l, wall)));
      }
      return null;
    }
    if (hs != HolderState.FREE) {
      return null;
    }
    if (want && canAcquire(now) && !aheadOfView(b)) {
      V1Lease body;
      if (l == null) {
        if (!b.virtual()) {
          // its Lease went away since this write was queued: a VIP without a Lease gets its
          // first owner only from a genesis Lease, never from a create racing one
          requestGenesis();
          return null;
        }
        body = newVipLease(v, node, wall, null);
        return new Op(k, OpKind.ACQUIRE, name, a -> a.create(body));
      }
      body = takeOver(l, wall);
      return new Op(k, OpKind.ACQUIRE, name, a -> a.replace(body));
    }
    if (!want && l == null && b.virtual() && isGcNode(Genesis.NAME, now)) {
      // covered by the genesis Lease, its owner gone without heirs, wanted by nobody we know of:
      // write it as released, so the genesis Lease can be deleted
      V1Lease body = newVipLease(v, "", wall, null);
      return new Op(k, OpKind.RELEASE, name, a -> a.create(body));
    }
    if (!want && l != null && holder.isEmpty() && !covered(v) && isGcNode(v, now)) {
      String rv = Leases.resourceVersion(l);
      return new Op(
          k,
          OpKind.GC,
          name,
          a -> {
            a.delete(name, rv);
            return null;
          });
    }
    return null;
  }

  /** {@code l} rewritten with this node as holder under its current incarnation. */
  private V1Lease takeOver(V1Lease l, OffsetDateTime wall) {
    V1Lease body = Leases.copy(l);
    int transitions =
        body.getSpec().getLeaseTransitions() == null ? 0 : body.getSpec().getLeaseTransitions();
    if (!node.equals(Leases.holder(l))) {
      transitions++;
    }
    body.getSpec()
        .holderIdentity(node)
        .acquireTime(wall)
        .renewTime(wall)
        .leaseDurationSeconds(leaseSeconds())
        .leaseTransitions(transitions);
    VipAddress vip = Leases.vipOf(l);
    body.getMetadata().getAnnotations().put(INCARNATION, incarnation);
    body.getMetadata().getAnnotations().put(Leases.PROTOCOL, Leases.PROTOCOL_VERSION);
    if (vip != null) {
      body.getMetadata().getAnnotations().put(Leases.VIP, vip.literal());
    }
    body.getMetadata().getAnnotations().remove(Leases.RELEASED_BY);
    return body;
  }

  private boolean canHold(long now) {
    return !closing && ownValid(now);
  }

  private V1Lease newVipLease(String v, String holder, OffsetDateTime wall, Integer transitions) {
    V1Lease body =
        Leases.newLease(config.namespace(), VipAddress.parse(v).leaseName(), Leases.KIND_VIP);
    body.getMetadata().getAnnotations().put(Leases.VIP, v);
    if (!holder.isEmpty()) {
      body.getMetadata().getAnnotations().put(INCARNATION, incarnation);
      body.getSpec().holderIdentity(holder).acquireTime(wall).renewTime(wall);
    }
    body.getSpec().leaseDurationSeconds(leaseSeconds()).leaseTransitions(transitions);
    return body;
  }

  private Op planFence(Key k) {
    String x = k.id();
    long now = loop.nanoTime();
    Peer p = peers.get(x);
    if (phase != Phase.RUNNING
        || closing
        || p == null
        || !lapsed(p, now)
        || p.fenced()
        || !p.sameProtocol()) {
      return null;
    }
    if (!apiHealthy(now)) {
      // Our own renewal is stuck: what looks like their silence may be the API server's.
      timers.arm(Timers.Job.FENCE_RETRY, config.retryInterval().toNanos(), this::fullPass);
      return null;
    }
    String name = Leases.nodeLeaseName(x);
    if (readBeforeWrite.remove(name)) {
      return new Op(k, OpKind.READ, name, a -> a.get(name));
    }
    // The fence names the heirs of the fenced incarnation: its VIPs move with this one write.
    Map<String, String> heirs = new HashMap<>();
    for (Peer q : eligiblePeers) {
      if (!q.node.equals(x) && q.incarnation() != null) {
        heirs.put(q.node, q.incarnation());
      }
    }
    if (ownValid(now) && healthy && !closing) {
      heirs.put(node, incarnation);
    }
    String fencedInc = p.incarnation();
    Map<String, Handoffs.Entry> entries = new LinkedHashMap<>(p.handoffs());
    if (fencedInc != null && !heirs.isEmpty()) {
      entries.putIfAbsent(fencedInc, new Handoffs.Entry(fencedInc, Map.copyOf(heirs)));
    }
    prune(x, entries, fencedInc);
    if (p.present()) {
      V1Lease body = Leases.copy(p.lease);
      body.getMetadata().getAnnotations().put(Leases.FENCED_BY, node);
      putHandoffs(body, entries);
      return new Op(k, OpKind.FENCE, name, a -> a.replace(body));
    }
    V1Lease body = Leases.newLease(config.namespace(), name, Leases.KIND_NODE);
    body.getMetadata().getAnnotations().put(Leases.NODE, x);
    body.getMetadata().getAnnotations().put(Leases.FENCED_BY, node);
    if (fencedInc != null) {
      body.getMetadata().getAnnotations().put(INCARNATION, fencedInc);
    }
    putHandoffs(body, entries);
    body.getSpec().holderIdentity(x).leaseDurationSeconds(leaseSeconds());
    return new Op(k, OpKind.FENCE, name, a -> a.create(body));
  }

  /**
   * Creates the genesis Lease for every VIP of our candidacy that has no Lease (members: this node
   * and the live eligible peers competing for the same VIPs), or deletes it once every VIP it
   * covers has its own Lease.
   */
  private Op planGenesis(Key k) {
    long now = loop.nanoTime();
    if (phase != Phase.RUNNING || closing) {
      return null;
    }
    if (readBeforeWrite.remove(Genesis.NAME)) {
      return new Op(k, OpKind.READ, Genesis.NAME, a -> a.get(Genesis.NAME));
    }
    if (genesisLease != null) {
      if (!isGcNode(Genesis.NAME, now) || !genesisDone()) {
        return null;
      }
      String rv = Leases.resourceVersion(genesisLease);
      return new Op(
          k,
          OpKind.GENESIS_DELETE,
          Genesis.NAME,
          a -> {
            a.delete(Genesis.NAME, rv);
            return null;
          });
    }
    if (!canAcquire(now) || genesisAwaited != null) {
      return null;
    }
    List<String> free = new ArrayList<>();
    for (String v : candidacy) {
      if (vips.containsKey(v)) {
        continue;
      }
      Basis b = basis(v);
      if (resolve(v, b.holder(), b.incarnation(), now).state() == HolderState.FREE) {
        free.add(v);
      }
    }
    if (free.isEmpty()) {
      return null;
    }
    Map<String, String> members = new HashMap<>();
    members.put(node, incarnation);
    for (Peer p : eligiblePeers) {
      if (p.incarnation() != null && candidacyStamp.equals(p.candidacy())) {
        members.put(p.node, p.incarnation());
      }
    }
    V1Lease body = Genesis.newLease(config.namespace(), node, free, members, leaseSeconds());
    log.info("genesisCreating node={} vips={} members={}", node, free.size(), members.keySet());
    return new Op(k, OpKind.GENESIS, Genesis.NAME, a -> a.create(body));
  }

  /**
   * A genesis Lease from a response (this node's create, or a read) is never taken into the view:
   * VIP Leases committed before it may not have reached the view yet, and a covered VIP without a
   * Lease in the view would resolve to a genesis member while its real Lease names a live holder.
   * The watch delivers it after everything committed before it; until then no other is written.
   */
  private void awaitGenesis(V1Lease result, long now) {
    String uid = Leases.uid(result);
    if (genesisLease != null && Objects.equals(Leases.uid(genesisLease), uid)) {
      applyGenesis(result, now); // the one in the view, read again (after a 409 on its delete)
    } else if (uid != null && !genesisUidsWatched.contains(uid)) {
      genesisAwaited = uid;
    }
  }

  private void onGenesisDone(Op op, V1Lease result, ApiException error) {
    long now = loop.nanoTime();
    if (error == null) {
      if (result != null) {
        awaitGenesis(result, now);
      } else if (op.kind() == OpKind.GENESIS_DELETE) {
        removeGenesis();
      }
    } else if (error.getCode() == 409) {
      metrics.conflicts.inc();
      readBeforeWrite.add(Genesis.NAME);
      enqueue(GENESIS_KEY, true);
    } else if (error.getCode() == 404) {
      removeGenesis();
    } else {
      metrics.apiErrors.inc();
      log.warn(
          "genesisWriteFailed node={} op={} code={} error={}",
          node,
          op.kind(),
          error.getCode(),
          shortError(error));
      loop.schedule(this::fullPass, config.retryInterval().toNanos());
    }
  }

  // ---- opt-in rebalancing ----

  /** Whether this node competes for {@code v}: in the candidacy and not handed on just now. */
  private boolean wants(String v, long now) {
    if (!candidacy.contains(v)) {
      return false;
    }
    Long until = declined.get(v);
    if (until == null) {
      return true;
    }
    if (until - now > 0) {
      return false;
    }
    declined.remove(v);
    return true;
  }

  private void scheduleRebalance() {
    if (config.rebalanceInterval().isZero()) {
      return;
    }
    timers.arm(
        Timers.Job.REBALANCE,
        config.rebalanceInterval().toNanos(),
        () -> {
          if (phase == Phase.CLOSED || closing) {
            return;
          }
          rebalanceOne();
          pump();
          scheduleRebalance();
        });
  }

  /**
   * If this node owns more than its share of the VIPs of the live eligible nodes, hands one VIP to
   * the first node in its rendezvous order that competes for the same VIPs and owns less than its
   * share: lost() here, then a release naming this node, which placement skips — the receiver is
   * first in line and takes it at once. One VIP per interval; never while anything else is going on
   * (a genesis Lease, writes in flight, our own renewals in trouble).
   */
  private void rebalanceOne() {
    long now = loop.nanoTime();
    if (phase != Phase.RUNNING
        || !healthy
        || !ownValid(now)
        || !apiHealthy(now)
        || genesisLease != null
        || !writes.idle()
        || reporter.anyReleasePending()
        || reporter.announcedVips().isEmpty()) {
      return;
    }
    Map<String, Integer> load = new HashMap<>();
    load.put(node, 0);
    List<String> peersAlike = new ArrayList<>();
    for (Peer p : eligiblePeers) {
      load.put(p.node, 0);
      if (candidacyStamp.equals(p.candidacy())) {
        peersAlike.add(p.node);
      }
    }
    int total = 0;
    for (Optional<String> o : reporter.reportedOwners().values()) {
      if (o.isPresent() && load.containsKey(o.get())) {
        load.merge(o.get(), 1, Integer::sum);
        total++;
      }
    }
    int floor = total / load.size();
    int ceil = (total + load.size() - 1) / load.size();
    if (load.get(node) <= ceil || peersAlike.isEmpty()) {
      return;
    }
    for (String v : new TreeSet<>(reporter.announcedVips())) {
      String to = Placement.first(v, peersAlike);
      if (load.get(to) < floor) {
        declined.put(v, now + 2 * config.placementFallback().toNanos() + durationNanos);
        log.info("vipRebalanced node={} vip={} to={} load={}", node, v, to, load);
        evaluate(v); // lost() first; the release follows once the listener has it
        return;
      }
    }
  }

  // ---- liveness Leases of nodes gone for good ----

  private void scheduleNodeGc() {
    long period =
        Math.max(config.renewInterval().toNanos(), config.releasedLeaseGc().toNanos() / 6);
    timers.arm(
        Timers.Job.NODE_GC,
        period,
        () -> {
          if (phase == Phase.CLOSED || closing) {
            return;
          }
          checkNodeGc();
          pump();
          scheduleNodeGc();
        });
  }

  /**
   * A liveness Lease that is fenced, stopped or silent for {@code releasedLeaseGc}, and that
   * nothing refers to any more (no VIP Lease, tombstone, genesis member or handoff heir names the
   * node), is deleted by the first live node in its rendezvous order: nodes removed from the
   * cluster leave nothing behind. A node that comes back simply writes a new one.
   */
  private void checkNodeGc() {
    long now = loop.nanoTime();
    if (phase != Phase.RUNNING || !ownValid(now) || !apiHealthy(now)) {
      return;
    }
    Set<String> referenced = null;
    for (Peer p : peers.values()) {
      if (!goneForGood(p, now)) {
        continue;
      }
      if (referenced == null) {
        referenced = referencedNodes();
      }
      if (!referenced.contains(p.node) && isGcNode(Leases.nodeLeaseName(p.node), now)) {
        enqueue(new Key(KeyKind.NODE_GC, p.node), false);
      }
    }
  }

  private boolean goneForGood(Peer p, long now) {
    return !p.node.equals(node)
        && p.present()
        && p.sameProtocol()
        && (p.fenced() || p.stopped() || lapsed(p, now))
        && now - Math.max(p.changedAt, resyncAt) - config.releasedLeaseGc().toNanos() >= 0;
  }

  /** Nodes something still refers to: a VIP Lease, a tombstone, the genesis, a handoff record. */
  private Set<String> referencedNodes() {
    Set<String> r = new HashSet<>();
    for (V1Lease l : vips.values()) {
      r.add(Leases.holder(l));
    }
    for (Tombstone t : tombstones.values()) {
      r.add(t.holder());
    }
    if (genesis != null) {
      r.addAll(genesis.members().heirs().keySet());
    }
    for (Peer q : peers.values()) {
      for (Handoffs.Entry e : q.handoffs().values()) {
        r.addAll(e.heirs().keySet());
      }
    }
    for (Handoffs.Entry e : ownHandoffs().values()) {
      r.addAll(e.heirs().keySet());
    }
    return r;
  }

  private Op planNodeGc(Key k) {
    long now = loop.nanoTime();
    Peer p = peers.get(k.id());
    String name = Leases.nodeLeaseName(k.id());
    if (phase != Phase.RUNNING
        || closing
        || p == null
        || !goneForGood(p, now)
        || referencedNodes().contains(p.node)
        || !isGcNode(name, now)) {
      return null;
    }
    String rv = Leases.resourceVersion(p.lease);
    return new Op(
        k,
        OpKind.NODE_GC,
        name,
        a -> {
          a.delete(name, rv);
          return null;
        });
  }

  private void onNodeGcDone(Op op, ApiException error) {
    String x = op.key().id();
    if (error == null || error.getCode() == 404) {
      log.info("nodeLeaseCollected node={} peer={}: gone and referenced by nothing", node, x);
      removeNode(x, loop.nanoTime());
    } else if (error.getCode() != 409) { // 409: it changed (came back); looked at again later
      metrics.apiErrors.inc();
      log.warn(
          "nodeLeaseGcFailed node={} peer={} code={} error={}",
          node,
          x,
          error.getCode(),
          shortError(error));
    }
  }

  private static void putHandoffs(V1Lease body, Map<String, Handoffs.Entry> entries) {
    if (entries.isEmpty()) {
      body.getMetadata().getAnnotations().remove(Leases.HANDOFF);
    } else {
      body.getMetadata().getAnnotations().put(Leases.HANDOFF, Handoffs.encode(entries.values()));
    }
  }

  /**
   * Drops handoff records of {@code x} that nothing refers to any more (no VIP Lease, tombstone or
   * other handoff names that incarnation), once there are more than a few. {@code keep} stays.
   */
  private void prune(String x, Map<String, Handoffs.Entry> entries, String keep) {
    if (entries.size() <= KEEP_HANDOFFS) {
      return;
    }
    Set<String> referenced = new HashSet<>();
    for (V1Lease l : vips.values()) {
      if (x.equals(Leases.holder(l))) {
        referenced.add(Leases.annotation(l, INCARNATION));
      }
    }
    for (Tombstone t : tombstones.values()) {
      if (x.equals(t.holder())) {
        referenced.add(t.incarnation());
      }
    }
    for (Peer q : peers.values()) {
      for (Handoffs.Entry e : q.handoffs().values()) {
        referenced.add(e.heirs().get(x));
      }
    }
    for (Handoffs.Entry e : ownHandoffs().values()) {
      referenced.add(e.heirs().get(x));
    }
    if (genesis != null) {
      referenced.add(genesis.members().heirs().get(x));
    }
    entries.keySet().removeIf(inc -> !inc.equals(keep) && !referenced.contains(inc));
  }

  private void onOpDone(Op op, V1Lease result, ApiException error) {
    writes.finished(op.key());
    if (op.key().kind() == KeyKind.GENESIS) {
      onGenesisDone(op, result, error);
      pump();
      return;
    }
    if (op.key().kind() == KeyKind.NODE_GC) {
      onNodeGcDone(op, error);
      pump();
      return;
    }
    long now = loop.nanoTime();
    if (error == null) {
      switch (op.kind()) {
        case GC -> {
          String v = op.key().id();
          log.info("releasedLeaseDeleted vip={}", v);
          V1Lease l = vips.remove(v);
          if (l != null) {
            tombstones.remove(v);
            freeSince.remove(v);
          }
          evaluate(v);
        }
        case FENCE -> {
          metrics.fences.inc();
          log.warn("nodeFenced node={} peer={}", node, op.key().id());
          if (versions.answered(Leases.name(result), Leases.resourceVersion(result))) {
            applyNodeLease(result, now);
          }
        }
        default -> {
          if (op.kind() == OpKind.RELEASE) {
            metrics.releases.inc();
            logVip(op.key().id(), () -> log.info("leaseReleased vip={}", op.key().id()));
          }
          if (result != null) {
            String name = Leases.name(result);
            boolean take = true;
            if (op.kind() == OpKind.READ) {
              versions.read(name, Leases.resourceVersion(result));
            } else {
              take = versions.answered(name, Leases.resourceVersion(result));
            }
            if (take && Leases.isNodeLease(result)) {
              applyNodeLease(result, now);
            } else if (take) {
              applyVipLease(result, now, true);
            }
          }
        }
      }
    } else if (error.getCode() == 409) {
      metrics.conflicts.inc();
      log.debug("leaseConflict node={} lease={} op={}", node, op.leaseName(), op.kind());
      readBeforeWrite.add(op.leaseName());
      enqueue(op.key(), true);
    } else if (error.getCode() == 404) {
      if (op.key().fence()) {
        Peer p = peers.get(op.key().id());
        if (p != null && p.present()) {
          removeNode(p.node, now);
        }
      } else {
        removeVip(op.key().id(), false);
      }
      if (op.key().fence()) {
        fullPass();
      } else {
        evaluate(op.key().id());
      }
    } else {
      metrics.apiErrors.inc();
      log.warn(
          "leaseWriteFailed node={} lease={} op={} code={} error={}",
          node,
          op.leaseName(),
          op.kind(),
          error.getCode(),
          shortError(error));
      if (op.key().fence()) {
        loop.schedule(this::fullPass, config.retryInterval().toNanos());
      } else {
        String v = op.key().id();
        loop.schedule(
            () -> {
              evaluate(v);
              pump();
            },
            config.retryInterval().toNanos());
      }
    }
    if (!op.key().fence() && error == null) {
      evaluate(op.key().id()); // events for this VIP that arrived meanwhile were not acted on
    }
    pump();
  }

  // =====================================================================================
  // Liveness Lease (loop → liveness thread → loop)
  // =====================================================================================

  /** After the first list: take over this node's liveness Lease from any earlier process. */
  private void startClaim() {
    long now = loop.nanoTime();
    phase = Phase.CLAIMING;
    Peer self = peers.get(node);
    if (self == null || self.lease == null) {
      own = null;
      phase = Phase.STARTING;
      renewNow();
      return;
    }
    V1Lease l = self.lease;
    String inc = Leases.annotation(l, INCARNATION);
    boolean gone =
        myIncarnations.contains(inc)
            || Peer.isFenced(l)
            || Leases.STATE_STOPPED.equals(Leases.annotation(l, Leases.STATE))
            || lapsed(self, now);
    if (gone) {
      own = l;
      phase = Phase.STARTING;
      renewNow();
      return;
    }
    long wait = lapseAt(self) - now;
    log.info(
        "nodeLeaseClaimWait node={} previousIncarnation={} waitMs={}: an earlier elector may still"
            + " act on it",
        node,
        inc,
        wait / 1_000_000);
    loop.schedule(
        () -> {
          if (phase == Phase.CLAIMING && !closing) {
            startClaim();
          }
        },
        wait);
  }

  private void renewNow() {
    nextRenewAt = loop.nanoTime();
    renew();
  }

  private void renew() {
    long now = loop.nanoTime();
    if (renewing || phase == Phase.NEW || phase == Phase.SYNCING || phase == Phase.CLAIMING) {
      return;
    }
    if (phase == Phase.CLOSED) {
      return;
    }
    if (closing && !ownEverWritten) {
      return;
    }
    if (now - nextRenewAt < 0) {
      return;
    }
    if (!ownWritten && reporter.anyReleasePending()) {
      return; // a bulk release: written after the listener heard lost() for every VIP
    }
    V1Lease body = ownBody();
    boolean create = own == null || ownNeedsCreate;
    if (create) {
      body.getMetadata().resourceVersion(null).uid(null);
    }
    String incSent = incarnation;
    Set<String> handoffsSent = Set.copyOf(pendingHandoffs.keySet());
    renewing = true;
    renewSentAt = now;
    metrics.requests.inc();
    submit(
        wiring.liveness(),
        () -> {
          try {
            V1Lease r = create ? api.create(body) : api.replace(body);
            loop.executePriority(() -> onRenewed(now, incSent, handoffsSent, r));
          } catch (ApiException e) {
            loop.executePriority(() -> onRenewFailed(now, e));
          } catch (RuntimeException e) {
            loop.executePriority(() -> onRenewFailed(now, new ApiException(e)));
          }
        });
  }

  private V1Lease ownBody() {
    V1Lease b =
        own != null
            ? Leases.copy(own)
            : Leases.newLease(config.namespace(), ownLeaseName, Leases.KIND_NODE);
    OffsetDateTime wall = OffsetDateTime.now(wiring.wallClock());
    b.getSpec().holderIdentity(node).leaseDurationSeconds(leaseSeconds()).renewTime(wall);
    if (b.getSpec().getAcquireTime() == null || !ownWritten) {
      b.getSpec().acquireTime(wall);
    }
    Map<String, String> a = b.getMetadata().getAnnotations();
    a.put(Leases.NODE, node);
    a.put(Leases.PROTOCOL, Leases.PROTOCOL_VERSION);
    a.put(INCARNATION, incarnation);
    a.put(Leases.ELIGIBLE, Boolean.toString(healthy && !closing));
    a.put(Leases.STATE, closing ? Leases.STATE_STOPPED : Leases.STATE_RUNNING);
    a.put(Leases.DURATION_MS, Long.toString(config.leaseDuration().toMillis()));
    a.put(Leases.CANDIDACY, candidacyStamp);
    a.remove(Leases.FENCED_BY);
    Map<String, Handoffs.Entry> entries =
        new LinkedHashMap<>(Handoffs.parse(Leases.annotation(b, Leases.HANDOFF)));
    pendingHandoffs.forEach(entries::putIfAbsent); // a record, once written, never changes
    prune(node, entries, null);
    putHandoffs(b, entries);
    b.getMetadata().putLabelsItem(Leases.MANAGED_BY, Leases.MANAGED_BY_VALUE);
    b.getMetadata().putLabelsItem(Leases.KIND, Leases.KIND_NODE);
    return b;
  }

  private void onRenewed(long sent, String incSent, Set<String> handoffsSent, V1Lease r) {
    renewing = false;
    ownEverWritten = true;
    ownNeedsCreate = false;
    pendingHandoffs.keySet().removeAll(handoffsSent);
    long now = loop.nanoTime();
    metrics.renewals.inc();
    own = r;
    if (versions.answered(ownLeaseName, Leases.resourceVersion(r))) {
      applyNodeLease(r, now);
    }
    ownVersionWritten(r);
    boolean wasValid = ownValid(now);
    boolean recovered = renewFailedSinceOk || now - sent > durationNanos / 4;
    long rtt = now - sent;
    writes.renewalTook(rtt, config.renewInterval().toNanos());
    boolean hadFailed = renewFailedSinceOk;
    lastRenewOk = true;
    renewFailedSinceOk = false;
    metrics.apiHealthy = true;
    if (incSent.equals(incarnation)) {
      ownWritten = true;
      long d = config.deadlineAfter(sent);
      if (d - nodeDeadline > 0 || nodeDeadline == Long.MIN_VALUE) {
        nodeDeadline = d;
        reporter.nodeDeadline(d);
      }
      loop.schedulePriority(this::deadlineCheck, Math.max(0, nodeDeadline - now));
    }
    if (closing) {
      if (incSent.equals(incarnation)) {
        log.info("nodeLeaseReleased node={} incarnation={}", node, incarnation);
        phase = Phase.CLOSED;
        closeDone.countDown();
      } else {
        renewNow();
      }
      return;
    }
    if (phase == Phase.STARTING && ownWritten) {
      phase = Phase.RUNNING;
      runningSince = now;
      log.info("nodeLeaseClaimed node={} incarnation={}", node, incarnation);
      everEligible.addAll(eligiblePeers.stream().map(p -> p.node).toList());
      loop.schedule(this::fullPass, config.startupGrace().toNanos());
      scheduleNodeGc();
      scheduleRebalance();
    }
    if (recovered) {
      resyncAt = now;
      if (hadFailed) {
        log.info("livenessRecovered node={}", node);
        wiring.watch().reconnect();
      }
    }
    nextRenewAt = sent + config.renewInterval().toNanos();
    loop.schedulePriority(this::renew, Math.max(0, nextRenewAt - now));
    if (!ownWritten) {
      renewNow(); // a bump happened while this renewal was in flight
      return;
    }
    if (!wasValid || recovered || acquireBlocked) {
      acquireBlocked = false;
      refreshPeers(now);
      fullPass();
    }
    if (wasValid) {
      reporter.renewed(nodeDeadline, frozenDeadlines.keySet());
    }
  }

  private void onRenewFailed(long sent, ApiException e) {
    renewing = false;
    long now = loop.nanoTime();
    int code = e.getCode();
    if (code == 409) {
      metrics.conflicts.inc();
      readOwn();
      return;
    }
    viewFellBehind("renewFailed");
    if (code == 404) {
      recreateOwn();
      return;
    }
    metrics.renewalFailures.inc();
    metrics.apiErrors.inc();
    writes.renewalFailed();
    if (!renewFailedSinceOk) {
      log.warn(
          "livenessRenewFailed node={} code={} error={} deadlineInMs={}",
          node,
          code,
          shortError(e),
          ownWritten ? (nodeDeadline - now) / 1_000_000 : -1);
    }
    lastRenewOk = false;
    renewFailedSinceOk = true;
    metrics.apiHealthy = false;
    nextRenewAt = Math.max(now, sent + config.retryInterval().toNanos());
    loop.schedulePriority(this::renew, Math.max(0, nextRenewAt - now));
  }

  private void readOwn() {
    renewing = true;
    metrics.requests.inc();
    submit(
        wiring.liveness(),
        () -> {
          try {
            V1Lease r = api.get(ownLeaseName);
            loop.executePriority(() -> onOwnRead(r));
          } catch (ApiException e) {
            loop.executePriority(() -> onOwnReadFailed(e));
          } catch (RuntimeException e) {
            loop.executePriority(() -> onOwnReadFailed(new ApiException(e)));
          }
        });
  }

  private void onOwnRead(V1Lease r) {
    renewing = false;
    ownNeedsCreate = false;
    versions.read(ownLeaseName, Leases.resourceVersion(r));
    applyNodeLease(r, loop.nanoTime());
    own = r;
    if (phase != Phase.CLAIMING) {
      renewNow();
    }
  }

  private void onOwnReadFailed(ApiException e) {
    renewing = false;
    if (e.getCode() == 404) {
      viewFellBehind("nodeLeaseMissing");
      recreateOwn();
      return;
    }
    onRenewFailed(loop.nanoTime(), e);
  }

  /** Our liveness Lease as seen by the watch or a read: fenced, superseded, or just newer. */
  private void onOwnObserved(V1Lease l) {
    if (phase == Phase.NEW || phase == Phase.SYNCING || phase == Phase.CLAIMING) {
      return; // startClaim decides
    }
    String inc = Leases.annotation(l, INCARNATION);
    if (own != null && Objects.equals(Leases.resourceVersion(l), Leases.resourceVersion(own))) {
      return;
    }
    boolean foreign = inc != null && !myIncarnations.contains(inc);
    if (foreign
        && (Peer.isFenced(l) || Leases.STATE_STOPPED.equals(Leases.annotation(l, Leases.STATE)))) {
      own = l; // what an earlier process left (fenced or stopped): our next write replaces it
      return;
    }
    if (foreign) {
      log.error(
          "nodeLeaseSuperseded node={} foreignIncarnation={}: another elector runs with this node"
              + " name; dropping every VIP and waiting for it to lapse",
          node,
          inc);
      own = l;
      bump(LossReason.SUPERSEDED);
      fullPass();
      phase = Phase.CLAIMING;
      startClaimLater();
      return;
    }
    if (Peer.isFenced(l) && incarnation.equals(inc)) {
      log.warn(
          "nodeLeaseFenced node={} by={}: a peer saw no renewal for a lease duration; starting"
              + " over",
          node,
          Leases.annotation(l, Leases.FENCED_BY));
      own = l;
      bump(LossReason.FENCED);
      fullPass();
      renewNow();
      return;
    }
    own = l;
  }

  /**
   * This node's liveness Lease is gone (collected after a long outage, or deleted by hand). Its
   * history went with it — a fence, the handoff records — so the Lease is re-created under a new
   * incarnation: no VIP Lease of the old one can come back to life from a stale view. Every owned
   * VIP is lost (as {@link LossReason#FENCED}); once the view has caught up, placement (previous
   * holder first) gives back what nobody else took meanwhile.
   */
  private void recreateOwn() {
    log.atWarn()
        .addKeyValue("node", node)
        .addKeyValue("incarnation", incarnation)
        .log("nodeLeaseMissing: re-creating it under a new incarnation");
    ownNeedsCreate = own != null; // keep its annotations (handoff records) in the new one
    if (ownWritten) {
      bump(LossReason.FENCED);
      fullPass();
    }
    renewNow();
  }

  private void viewFellBehind(String why) {
    if (!viewCurrent) {
      return;
    }
    viewCurrent = false;
    ownWrittenVersions.clear();
    ownSeenVersions.clear();
    log.atInfo().addKeyValue("node", node).addKeyValue("cause", why).log("leaseViewBehind");
  }

  /** A successful write of this node's liveness Lease returned {@code r}. */
  private void ownVersionWritten(V1Lease r) {
    String rv = Leases.resourceVersion(r);
    if (viewCurrent || rv == null) {
      return;
    }
    if (ownSeenVersions.contains(rv)) {
      caughtUp();
    } else {
      ownWrittenVersions.add(rv);
    }
  }

  /** The watch (or a re-list) delivered {@code l}; if it is this node's own write, caught up. */
  private void ownVersionSeen(V1Lease l) {
    if (viewCurrent || !node.equals(Leases.nodeOf(l))) {
      return;
    }
    String rv = Leases.resourceVersion(l);
    if (rv == null) {
      return;
    }
    if (ownWrittenVersions.contains(rv)) {
      caughtUp();
    } else if (ownSeenVersions.size() < 64) {
      ownSeenVersions.add(rv);
    }
  }

  private void caughtUp() {
    viewCurrent = true;
    ownWrittenVersions.clear();
    ownSeenVersions.clear();
    log.atInfo().addKeyValue("node", node).log("leaseViewCaughtUp");
    fullPass();
  }

  /** The view cannot tell whether a re-list or its own write is newer: read the Lease again. */
  private void readAgain(String v) {
    readBeforeWrite.add(VipAddress.parse(v).leaseName());
    enqueue(Key.vip(v), true);
  }

  private void startClaimLater() {
    Peer self = peers.get(node);
    long now = loop.nanoTime();
    long wait = self == null ? 0 : Math.max(0, lapseAt(self) - now);
    loop.schedule(
        () -> {
          if (phase == Phase.CLAIMING && !closing) {
            startClaim();
          }
        },
        wait);
  }

  /** Drops every VIP at once: a new incarnation voids every VIP Lease held under the old one. */
  private void bump(LossReason why) {
    String previous = incarnation;
    if ((why == LossReason.UNHEALTHY || why == LossReason.SHUTDOWN) && ownWritten) {
      // A planned release names the heirs in the same write that ends the incarnation.
      Map<String, String> heirs = new HashMap<>();
      for (Peer q : eligiblePeers) {
        if (q.incarnation() != null) {
          heirs.put(q.node, q.incarnation());
        }
      }
      if (!heirs.isEmpty()) {
        pendingHandoffs.put(previous, new Handoffs.Entry(previous, Map.copyOf(heirs)));
      }
    }
    incarnation = newIncarnation();
    ownWritten = false;
    dropReason = why;
    log.info(
        "incarnationChanged node={} from={} to={} reason={}", node, previous, incarnation, why);
    // only the VIPs we announced change: lost() for each, before anything else; the renewal that
    // follows evaluates every VIP again
    for (String v : new ArrayList<>(reporter.announcedVips())) {
      evaluate(v);
    }
  }

  private void deadlineCheck() {
    long now = loop.nanoTime();
    if (ownWritten && nodeDeadline - now <= 0) {
      metrics.apiHealthy = false;
    }
    if (ownWritten && nodeDeadline - now <= 0 && !reporter.announcedVips().isEmpty()) {
      log.warn(
          "deadlineExpired node={} owned={}: no renewal landed in time; letting go",
          node,
          reporter.announcedVips().size());
      refreshPeers(now);
      evaluateAll();
      pump();
    }
  }

  // =====================================================================================
  // Helpers
  // =====================================================================================

  private String newIncarnation() {
    String inc = wiring.incarnations().get();
    myIncarnations.add(inc);
    return inc;
  }

  private int leaseSeconds() {
    return (int) Math.max(1, (config.leaseDuration().toMillis() + 999) / 1000);
  }

  /** Candidacy fingerprint: peers with the same one compete for exactly the same VIPs. */
  static String stamp(Set<String> vips) {
    return vips.size()
        + ":"
        + Leases.sha256Hex(String.join(",", new TreeSet<>(vips))).substring(0, 16);
  }

  private static String shortError(ApiException e) {
    String m = e.getMessage();
    if (m == null && e.getCause() != null) {
      m = e.getCause().toString();
    }
    return m == null ? "?" : m.length() > 200 ? m.substring(0, 200) : m;
  }

  /** Runs an INFO log call with the VIP and its Lease in the MDC (nothing if INFO is off). */
  private static void logVip(String vip, Runnable logCall) {
    if (!log.isInfoEnabled()) {
      return;
    }
    try (var a = MDC.putCloseable("vip", vip);
        var b = MDC.putCloseable("lease", VipAddress.parse(vip).leaseName())) {
      logCall.run();
    }
  }
}
