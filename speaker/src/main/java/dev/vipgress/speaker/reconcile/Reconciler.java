package dev.vipgress.speaker.reconcile;

import dev.vipgress.election.ElectionListener;
import dev.vipgress.election.Scheduler;
import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.config.SpeakerConfig;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EgressPlanner;
import dev.vipgress.speaker.model.IpLiteral;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.Planner;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.model.VipSpec;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import dev.vipgress.speaker.reconcile.ReconcileResult.Failure;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns ownership, egress and announcement state on one loop ({@link Wiring#loop()}). Takeover: SNAT
 * + guard, then announce (GARP burst), then stop steering local pods elsewhere. Release: withdraw
 * the announcement, then steer local pods to the new owner and remove the SNAT in one atomic
 * transaction (with conntrack clean-up).
 *
 * <p>Every election callback only enqueues onto the loop, in the order the elector emitted them,
 * and asks for one coalesced reconcile: a failover of 1,000 VIPs is one pass, not 1,000. All state
 * is confined to the loop (the owners view included); time is read only from the loop's clock.
 */
public final class Reconciler implements ElectionListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);
  private static final long RESYNC_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final Duration RETRY_MIN = Duration.ofMillis(200);
  private static final Duration RETRY_MAX = Duration.ofSeconds(10);

  /**
   * Kernel changes within this long of the first one are re-checked together: a link that goes down
   * and the routes it takes along, or the monitor's echo of our own writes, cost one re-apply.
   */
  static final Duration KERNEL_SETTLE = Duration.ofMillis(100);

  /** Lease durations a VIP lost to a late renewal stays suspended before it is released. */
  static final int SUSPEND_LEASES = 3;

  /**
   * What a reconciler runs on and talks to. The daemon wires real ones ({@code Speaker}); tests and
   * the deterministic simulator pass fakes, all on one simulated {@link Scheduler}.
   *
   * @param loop the single loop every reconciler task runs on, and its clock
   * @param announcers one announcer per mode this node serves; VIPs of other modes are not competed
   *     for
   */
  public record Wiring(
      Scheduler loop,
      ClusterSource cluster,
      Candidacy candidacy,
      Datapath datapath,
      Map<Mode, Announcer> announcers,
      Reporter reporter,
      SpeakerMetrics metrics) {
    public Wiring {
      announcers = new EnumMap<>(announcers);
    }
  }

  /** A {@link #lostAll} completion: done once none of {@code vips} is announced or SNATed here. */
  private record Barrier(Set<InetAddress> vips, long deadline, CompletableFuture<Void> done) {}

  private final String self;
  private final Supplier<SpeakerConfig> config;
  private final SteeringPolicy steering;
  private final Scheduler loop;
  private final ClusterSource cluster;
  private final Candidacy candidacy;
  private final Datapath datapath;
  private final Map<Mode, Announcer> announcers;
  private final SpeakerMetrics metrics;
  private final ServiceReports reports;
  private final RefusedElements refused;
  private final Transitions transitions;
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AtomicBoolean refreshPending = new AtomicBoolean();
  private final AtomicBoolean kernelPending = new AtomicBoolean();
  private final AtomicBoolean closeStarted = new AtomicBoolean();

  /**
   * VIP text → the latest fencing deadline the elector handed over, written as it lands (the
   * election's thread), removed as the VIP is lost: the heartbeat and the announcers read it.
   */
  private final Map<String, Long> latest = new ConcurrentHashMap<>();

  // ---- loop-confined state ----
  /** What the elector says this node owns, with each VIP's fencing deadline. */
  private final Map<InetAddress, Long> ownedDeadlines = new HashMap<>();

  private final Set<InetAddress> suspended = new LinkedHashSet<>();
  private final Map<InetAddress, Long> acquiredAt = new HashMap<>();

  /** The owner of every VIP as the elector reported it, in the order it reported. */
  private final Map<String, String> owners = new HashMap<>();

  private final List<Barrier> barriers = new ArrayList<>();
  private Plan lastPlan = new Plan(Map.of(), List.of());
  private Duration retryDelay = Duration.ZERO;
  private boolean closing;
  private boolean closed;

  /** Closed, and the kernel no longer SNATs any VIP of this node: every pending release may go. */
  private boolean releasedOnClose;

  // ---- read by /status and /readyz from other threads ----
  private volatile List<VipStatus> status = List.of();
  private volatile boolean ready;

  /**
   * @param steering how this node's backends reach owners (direct next hop or VXLAN), fixed at
   *     start like the datapath's tunnel
   */
  public Reconciler(
      String self, Supplier<SpeakerConfig> config, SteeringPolicy steering, Wiring wiring) {
    this.self = self;
    this.config = config;
    this.steering = steering;
    this.loop = wiring.loop();
    this.cluster = wiring.cluster();
    this.candidacy = wiring.candidacy();
    this.datapath = wiring.datapath();
    this.announcers = wiring.announcers();
    this.metrics = wiring.metrics();
    this.reports = new ServiceReports(self, wiring.reporter());
    this.refused = new RefusedElements(self, wiring.reporter());
    this.transitions =
        new Transitions(loop, wiring.datapath(), announcers, metrics, reports, latest);
    datapath.latestDeadlines(latest);
  }

  /**
   * Whether an L2 VIP lies inside a subnet of this node's announcing interface: a node on another
   * segment must never own it (its gratuitous ARP would reach nobody on the VIP's segment). Without
   * known subnets every VIP qualifies.
   */
  boolean onSegment(InetAddress vip) {
    List<Cidr> subnets = steering.localSubnets();
    return subnets.isEmpty() || subnets.stream().anyMatch(c -> c.contains(vip));
  }

  public void start() {
    loop.schedule(this::resync, RESYNC_NANOS);
    trigger();
  }

  private void resync() {
    if (!closed) {
      trigger();
      loop.schedule(this::resync, RESYNC_NANOS);
    }
  }

  /** Asks for a reconcile; many triggers before it runs coalesce into one. */
  public void trigger() {
    if (pending.compareAndSet(false, true)) {
      loop.execute(
          () -> {
            pending.set(false);
            reconcile();
          });
    }
  }

  /**
   * The kernel state the datapath owns may have changed under it (a link went down and took the
   * steering routes along, a table was flushed or deleted by hand): after {@link #KERNEL_SETTLE}
   * the datapath is applied again against what the kernel now holds, even when nothing desired
   * changed. Thread-safe (called on the kernel watch's thread); changes while one is pending
   * coalesce. Our own writes are reported too: the re-apply they cause finds nothing to write, so
   * it causes no further change.
   */
  public void kernelChanged() {
    if (kernelPending.compareAndSet(false, true)) {
      loop.schedule(
          () -> {
            kernelPending.set(false);
            if (!closed) {
              LOG.atDebug().log("kernelRecheck");
              transitions.recheck();
              trigger();
            }
          },
          KERNEL_SETTLE.toNanos());
    }
  }

  public List<VipStatus> status() {
    return status;
  }

  public boolean ready() {
    return ready;
  }

  // ---- election callbacks: only enqueue, in order ----

  @Override
  public void acquired(String vip, long fencingDeadlineNanos) {
    long t = loop.nanoTime();
    IpLiteral.parse(vip)
        .ifPresent(
            a -> {
              latest.put(Addresses.format(a), fencingDeadlineNanos);
              loop.execute(() -> onAcquired(vip, a, fencingDeadlineNanos, t));
            });
  }

  @Override
  public void renewed(String vip, long fencingDeadlineNanos) {
    renewedAll(Set.of(vip), fencingDeadlineNanos);
  }

  @Override
  public void renewedAll(Set<String> vips, long fencingDeadlineNanos) {
    List<InetAddress> parsed =
        vips.stream().map(IpLiteral::parse).flatMap(Optional::stream).toList();
    // re-arm the announcers (and the deadline the heartbeat reads) now, not behind an apply
    for (InetAddress a : parsed) {
      latest.put(Addresses.format(a), fencingDeadlineNanos);
      transitions.rearm(a, fencingDeadlineNanos);
    }
    loop.execute(() -> onRenewed(parsed, fencingDeadlineNanos));
  }

  @Override
  public void lost(String vip) {
    lost(vip, LossReason.TAKEN);
  }

  @Override
  public void lost(String vip, LossReason reason) {
    var unused = lostAll(Set.of(vip), reason);
  }

  /**
   * A VIP lost because this node's own renewal came late ({@link LossReason#DEADLINE}) is
   * suspended, not released: the kernel state and the announcer have fenced themselves at the
   * deadline already, and the elector usually gives the VIP back with the next renewal — releasing
   * would flap the announcement and the egress for nothing. It is released once another node owns
   * it, or after {@link #SUSPEND_LEASES} lease durations without it coming back.
   *
   * <p>The returned stage completes once this node no longer announces nor SNATs to any of {@code
   * vips} (one reconcile for the whole batch), or once their fencing deadline passed (the kernel
   * state and the announcer stopped on their own).
   */
  @Override
  public CompletionStage<Void> lostAll(Set<String> vips, LossReason reason) {
    Set<InetAddress> parsed = new LinkedHashSet<>();
    vips.forEach(v -> IpLiteral.parse(v).ifPresent(parsed::add));
    parsed.forEach(a -> latest.remove(Addresses.format(a)));
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.execute(() -> onLost(parsed, reason, done));
    return done;
  }

  @Override
  public void ownerChanged(String vip, Optional<String> node) {
    loop.execute(() -> onOwnerChanged(vip, node));
  }

  // ---- the loop ----

  private void onAcquired(String vip, InetAddress a, long deadline, long at) {
    ownedDeadlines.put(a, deadline);
    owners.put(vip, self);
    if (suspended.remove(a) && transitions.announced(a)) {
      // re-taken after a late renewal: re-arm, nothing to take over again
      LOG.atInfo().addKeyValue("vip", vip).log("vipResumed");
      transitions.rearm(a, deadline);
    } else {
      acquiredAt.put(a, at);
    }
    trigger();
  }

  private void onRenewed(List<InetAddress> vips, long deadline) {
    // The elector renews only what it owns.
    boolean revived = false;
    for (InetAddress a : vips) {
      Long prev = ownedDeadlines.put(a, deadline);
      revived |= prev == null || !transitions.announced(a);
    }
    if (revived) {
      trigger();
    } else if (refreshPending.compareAndSet(false, true)) {
      loop.execute(this::refresh);
    }
  }

  private void onLost(Set<InetAddress> vips, LossReason reason, CompletableFuture<Void> done) {
    long deadline = loop.nanoTime();
    for (InetAddress a : vips) {
      Long dl = ownedDeadlines.get(a);
      if (dl != null) {
        deadline = Math.max(deadline, dl);
      }
      if (reason == LossReason.DEADLINE && dl != null && transitions.announced(a)) {
        suspend(a);
        continue;
      }
      suspended.remove(a);
      ownedDeadlines.remove(a);
    }
    barriers.add(new Barrier(vips, deadline, done));
    long wait = deadline - loop.nanoTime();
    if (wait > 0) {
      loop.schedule(this::settleBarriers, wait); // fenced by then whatever happens
    }
    trigger();
  }

  private void onOwnerChanged(String vip, Optional<String> node) {
    if (node.isPresent()) {
      owners.put(vip, node.get());
    } else {
      owners.remove(vip);
    }
    if (node.isPresent() && !node.get().equals(self)) {
      IpLiteral.parse(vip)
          .ifPresent(
              a -> {
                if (suspended.remove(a)) {
                  ownedDeadlines.remove(a); // another node has it now: release
                }
              });
    }
    trigger();
  }

  private void suspend(InetAddress a) {
    suspended.add(a);
    Duration keep = config.get().timing().leaseDuration().multipliedBy(SUSPEND_LEASES);
    LOG.atWarn()
        .addKeyValue("vip", Addresses.format(a))
        .addKeyValue("reason", "renewalLate")
        .addKeyValue("keepMs", keep.toMillis())
        .log("vipSuspended: the datapath fenced itself at the deadline; kept for the next renewal");
    loop.schedule(
        () -> {
          if (suspended.remove(a)) {
            ownedDeadlines.remove(a);
            trigger();
          }
        },
        keep.toNanos());
  }

  private void settleBarriers() {
    if (barriers.isEmpty()) {
      return;
    }
    long now = loop.nanoTime();
    barriers.removeIf(
        b -> {
          boolean stopped =
              releasedOnClose
                  || now - b.deadline() >= 0
                  || b.vips().stream()
                      .allMatch(v -> suspended.contains(v) || transitions.stopped(v));
          if (stopped) {
            b.done().complete(null);
          }
          return stopped;
        });
  }

  private void refresh() {
    refreshPending.set(false);
    if (closed) {
      return;
    }
    transitions
        .refresh(ownedDeadlines)
        .ifPresent(
            f -> {
              LOG.atWarn().addKeyValue("error", f.error()).log("natRefreshFailed");
              trigger();
            });
  }

  private void reconcile() {
    long t0 = loop.nanoTime();
    ReconcileResult result = reconcileOnce();
    LOG.atDebug()
        .addKeyValue("result", result.getClass().getSimpleName())
        .addKeyValue("owned", ownedDeadlines.size())
        .addKeyValue("suspended", suspended.size())
        .addKeyValue("announced", transitions.announcedVips().size())
        .addKeyValue("ms", (loop.nanoTime() - t0) / 1_000_000)
        .log("reconciled");
    switch (result) {
      case ReconcileResult.Done d -> retryDelay = Duration.ZERO;
      case ReconcileResult.Waiting w -> {}
      case ReconcileResult.Retry r -> {
        retryDelay = r.after();
        for (Failure f : r.failed()) {
          LOG.atError()
              .addKeyValue("what", f.what())
              .addKeyValue("error", f.error())
              .addKeyValue("retryInMs", r.after().toMillis())
              .log("reconcileFailed");
        }
        loop.schedule(this::trigger, r.after().toNanos());
      }
    }
    settleBarriers();
  }

  private ReconcileResult reconcileOnce() {
    if (closed) {
      return new ReconcileResult.Waiting("closed");
    }
    if (!cluster.synced()) {
      return new ReconcileResult.Waiting("watches not synced");
    }
    SpeakerConfig cfg = config.get();
    List<Cidr> ranges = cfg.clusterRanges().stream().map(Cidr::parse).toList();
    ClusterView view = cluster.view();
    reports.servicesNow(view.services().keySet());
    Plan plan = Planner.plan(view, ranges, announcers.keySet());
    reports.problems(plan.problems());
    if (!closing) {
      compete(cfg, view, plan);
    }

    // Owned is what the elector says until it says lost(). Fencing by deadline is the datapath's
    // and the announcer's job (kernel state that expires, a per-packet deadline check): dropping a
    // VIP here when a renewal is merely late would flap the whole takeover.
    Map<InetAddress, Long> owned = new LinkedHashMap<>();
    ownedDeadlines.forEach(
        (vip, dl) -> {
          if (plan.vips().containsKey(vip) && (!closing || transitions.announced(vip))) {
            owned.put(vip, dl);
          }
        });
    EgressPlanner.Result egress =
        EgressPlanner.desired(plan, self, liveOwners(owned), view.nodes(), ranges, owned, steering);
    reports.problems(egress.problems());
    Transitions.Outcome outcome = transitions.run(owned, egress.desired(), plan, lastPlan);
    refused.report(outcome.refused(), plan, egress.desired());
    lastPlan = plan;
    for (InetAddress vip : outcome.announced()) {
      Long t0 = acquiredAt.remove(vip);
      if (t0 != null) {
        metrics.takeoverSeconds.observe((loop.nanoTime() - t0) / 1e9);
      }
    }
    reports.announced(transitions.announcedVips(), plan);
    for (Mode m : Mode.values()) {
      metrics
          .vips
          .labelValues(m.label())
          .set(plan.vips().values().stream().filter(s -> s.mode() == m).count());
    }
    status = StatusView.of(self, plan, transitions.announcedVips(), owners, transitions.applied());
    ready = true;
    List<Failure> failed = outcome.failed();
    if (failed.isEmpty()) {
      return new ReconcileResult.Done();
    }
    Duration next = retryDelay.multipliedBy(2);
    next =
        next.compareTo(RETRY_MIN) < 0
            ? RETRY_MIN
            : next.compareTo(RETRY_MAX) > 0 ? RETRY_MAX : next;
    return new ReconcileResult.Retry(next, failed);
  }

  /**
   * Tells the election what this node competes for: node-level eligibility, and per VIP an
   * announcer of its mode that can announce it now (BGP: a session carrying its family), an address
   * of its family and (L2) the VIP on this node's segment. An unhealthy mode removes only its own
   * VIPs; with no healthy mode the node is unhealthy.
   */
  private void compete(SpeakerConfig cfg, ClusterView view, Plan plan) {
    NodeInfo me = view.nodes().get(self);
    boolean eligible =
        me != null
            && me.ready()
            && !me.labels().containsKey(Labels.EXCLUDE_LB)
            && cfg.nodeSelector().entrySet().stream()
                .allMatch(e -> e.getValue().equals(me.labels().get(e.getKey())))
            && announcers.values().stream().anyMatch(Announcer::healthy);
    List<InetAddress> myAddrs =
        me == null
            ? List.of()
            : me.internalIps().stream().map(IpLiteral::parse).flatMap(Optional::stream).toList();
    if (me != null) {
      announcers.values().forEach(a -> a.nodeLabels(me.labels()));
    }
    Set<String> want = new LinkedHashSet<>();
    for (VipSpec s : plan.vips().values()) {
      Announcer a = announcers.get(s.mode());
      if (a == null || !a.canAnnounce(s.vip())) {
        continue;
      }
      if (!Planner.sameFamily(s.vip(), myAddrs)) {
        reports.noAddressFamily(s);
      } else if (s.mode() == Mode.L2 && !onSegment(s.vip())) {
        reports.notOnSegment(s, steering.localSubnets());
      } else {
        want.add(s.text());
      }
    }
    candidacy.setHealthy(eligible);
    candidacy.setCandidacy(eligible ? want : Set.of());
  }

  /**
   * The owners view for egress: this node counts as a VIP's owner only while it holds it. A VIP the
   * elector took from this node before another owner is known has no owner here (its local backends
   * are dropped, fail closed), never steered to this node itself.
   */
  private Map<String, String> liveOwners(Map<InetAddress, Long> owned) {
    Map<String, String> out = new HashMap<>();
    owners.forEach(
        (vip, node) -> {
          if (!node.equals(self) || IpLiteral.parse(vip).filter(owned::containsKey).isPresent()) {
            out.put(vip, node);
          }
        });
    return out;
  }

  /**
   * SIGTERM, a hand-over: stop competing, let the elector release every owned VIP (it calls {@link
   * #lostAll} and writes the release once this node has withdrawn and stopped SNATing them), then
   * close the datapath keeping its fail-closed state, which expires on its own ({@code
   * close(true)}: removing it would let local backends leave with their own IPs).
   */
  @Override
  public void close() {
    if (!closeStarted.compareAndSet(false, true)) {
      return;
    }
    onLoop(() -> closing = true);
    candidacy.close();
    onLoop(
        () -> {
          Optional<Failure> left = transitions.releaseAll();
          left.ifPresent(
              f ->
                  LOG.atError()
                      .addKeyValue("what", f.what())
                      .addKeyValue("error", f.error())
                      .log("releaseOnCloseFailed: the release waits for the fencing deadline"));
          releasedOnClose = left.isEmpty();
          closed = true;
          datapath.close(true);
          settleBarriers();
          LOG.atInfo().addKeyValue("handedOver", ownedDeadlines.size()).log("reconcilerStopped");
          ownedDeadlines.clear();
          latest.clear();
        });
  }

  /** Runs {@code task} on the loop and waits for it (directly when already on the loop). */
  private void onLoop(Runnable task) {
    if (loop.inLoop()) {
      task.run();
      return;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.execute(
        () -> {
          try {
            task.run();
            done.complete(null);
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
          }
        });
    try {
      done.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.atError().addKeyValue("error", e.toString()).log("shutdownIncomplete");
    }
  }
}
