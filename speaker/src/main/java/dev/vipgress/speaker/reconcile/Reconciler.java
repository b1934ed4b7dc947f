package dev.vipgress.speaker.reconcile;

import dev.vipgress.election.ElectionListener;
import dev.vipgress.election.ElectionListener.LossReason;
import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.config.SpeakerConfig;
import dev.vipgress.speaker.model.Backend;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EgressPlanner;
import dev.vipgress.speaker.model.IpLiteral;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.Planner;
import dev.vipgress.speaker.model.Problem;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.model.VipSpec;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Owns ownership, egress and announcement state on one thread. Takeover: SNAT + guard, then
 * announce (GARP burst), then stop steering local pods elsewhere. Release: withdraw the
 * announcement, then steer local pods to the new owner and remove the SNAT in one atomic
 * transaction (with conntrack clean-up).
 */
public final class Reconciler implements ElectionListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);
  private static final long RESYNC_MS = 10_000;

  /** Lease durations a VIP lost to a late renewal stays suspended before it is released. */
  static final int SUSPEND_LEASES = 3;

  private final String self;
  private final Supplier<SpeakerConfig> config;
  private final ClusterSource watch;
  private final Candidacy election;
  private final Datapath nat;
  private final Announcer announcer;
  private final Reporter writer;
  private final SpeakerMetrics metrics;
  private final ScheduledExecutorService loop =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "reconcile");
            t.setDaemon(true);
            return t;
          });
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AtomicBoolean refreshPending = new AtomicBoolean();

  private final SteeringPolicy steering;

  // Reconcile-thread state.
  private final Map<InetAddress, Long> ownedDeadlines = new HashMap<>();
  private final Set<InetAddress> suspended = new HashSet<>();
  private final Map<InetAddress, Long> acquiredAt = new HashMap<>();
  private final Set<InetAddress> announced = new HashSet<>();
  private final Map<InetAddress, Set<ServiceKey>> toldServices = new HashMap<>();
  private NodeDesired applied = new NodeDesired(Set.of(), Map.of(), Set.of());
  private Plan lastPlan = new Plan(Map.of(), List.of());
  private Set<ServiceKey> lastServices = Set.of();
  private long retryDelayMs = 0;
  private boolean closing;

  // Read by /status and /readyz from other threads.
  private volatile List<VipStatus> status = List.of();
  private volatile boolean ready;
  private final Map<String, String> owners = new ConcurrentHashMap<>();

  public Reconciler(
      String self,
      Supplier<SpeakerConfig> config,
      ClusterSource watch,
      Candidacy election,
      Datapath nat,
      Announcer announcer,
      Reporter writer,
      SpeakerMetrics metrics) {
    this(self, config, watch, election, nat, announcer, writer, metrics, SteeringPolicy.direct());
  }

  /**
   * @param steering how this node's backends reach owners (direct next hop or VXLAN), fixed at
   *     start like the datapath's tunnel
   */
  public Reconciler(
      String self,
      Supplier<SpeakerConfig> config,
      ClusterSource watch,
      Candidacy election,
      Datapath nat,
      Announcer announcer,
      Reporter writer,
      SpeakerMetrics metrics,
      SteeringPolicy steering) {
    this.steering = steering;
    this.self = self;
    this.config = config;
    this.watch = watch;
    this.election = election;
    this.nat = nat;
    this.announcer = announcer;
    this.writer = writer;
    this.metrics = metrics;
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
    var unused =
        loop.scheduleWithFixedDelay(this::trigger, RESYNC_MS, RESYNC_MS, TimeUnit.MILLISECONDS);
    trigger();
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

  /** Waits until every task queued so far has run (for tests and orderly shutdown). */
  public void flush() throws Exception {
    loop.submit(() -> {}).get(10, TimeUnit.SECONDS);
  }

  public List<VipStatus> status() {
    return status;
  }

  public boolean ready() {
    return ready;
  }

  // ---- election callbacks: only enqueue ----

  @Override
  public void acquired(String vip, long fencingDeadlineNanos) {
    long t = System.nanoTime();
    IpLiteral.parse(vip)
        .ifPresent(
            a ->
                loop.execute(
                    () -> {
                      ownedDeadlines.put(a, fencingDeadlineNanos);
                      owners.put(vip, self);
                      if (suspended.remove(a) && announced.contains(a)) {
                        // re-taken after a late renewal: re-arm, nothing to take over again
                        LOG.info("vipResumed vip={}", Addresses.format(a));
                        announcer.announce(a, fencingDeadlineNanos);
                      } else {
                        acquiredAt.put(a, t);
                      }
                      reconcile();
                    }));
  }

  @Override
  public void renewed(String vip, long fencingDeadlineNanos) {
    renewedAll(Set.of(vip), fencingDeadlineNanos);
  }

  @Override
  public void renewedAll(Set<String> vips, long fencingDeadlineNanos) {
    List<InetAddress> parsed =
        vips.stream().map(IpLiteral::parse).flatMap(Optional::stream).toList();
    loop.execute(
        () -> {
          // The elector renews only what it owns.
          boolean revived = false;
          for (InetAddress a : parsed) {
            Long prev = ownedDeadlines.put(a, fencingDeadlineNanos);
            revived |= prev == null || !announced.contains(a);
          }
          if (revived) {
            reconcile();
          } else if (refreshPending.compareAndSet(false, true)) {
            loop.execute(this::refresh);
          }
        });
  }

  @Override
  public void lost(String vip) {
    lost(vip, LossReason.TAKEN);
  }

  /**
   * A VIP lost because this node's own renewal came late ({@link LossReason#DEADLINE}) is
   * suspended, not released: the kernel state and the announcer have fenced themselves at the
   * deadline already, and the elector usually gives the VIP back with the next renewal — releasing
   * would flap the announcement and the egress for nothing. It is released once another node owns
   * it, or after {@link #SUSPEND_LEASES} lease durations without it coming back.
   */
  @Override
  public void lost(String vip, LossReason reason) {
    IpLiteral.parse(vip)
        .ifPresent(
            a ->
                loop.execute(
                    () -> {
                      if (reason == LossReason.DEADLINE
                          && ownedDeadlines.containsKey(a)
                          && announced.contains(a)) {
                        suspend(a);
                        return;
                      }
                      suspended.remove(a);
                      ownedDeadlines.remove(a);
                      reconcile();
                    }));
  }

  @Override
  public void ownerChanged(String vip, Optional<String> node) {
    if (node.isPresent()) {
      owners.put(vip, node.get());
    } else {
      owners.remove(vip);
    }
    if (node.isPresent() && !node.get().equals(self)) {
      IpLiteral.parse(vip)
          .ifPresent(
              a ->
                  loop.execute(
                      () -> {
                        if (suspended.remove(a)) {
                          ownedDeadlines.remove(a); // another node has it now: release
                        }
                      }));
    }
    trigger();
  }

  private void suspend(InetAddress a) {
    suspended.add(a);
    long ms = config.get().timing().leaseDuration().toMillis() * SUSPEND_LEASES;
    LOG.warn(
        "vipSuspended vip={} reason=renewalLate: the datapath fenced itself at the deadline; kept"
            + " up to {} ms for the next renewal",
        Addresses.format(a),
        ms);
    var unused =
        loop.schedule(
            () -> {
              if (suspended.remove(a)) {
                ownedDeadlines.remove(a);
                reconcile();
              }
            },
            ms,
            TimeUnit.MILLISECONDS);
  }

  // ---- the reconcile thread ----

  private void refresh() {
    refreshPending.set(false);
    if (closing) {
      return;
    }
    NodeDesired d = withDeadlines(applied);
    try {
      nat.refresh(d);
      applied = d;
    } catch (RuntimeException e) {
      LOG.warn("natRefreshFailed error={}", e.toString());
      trigger();
    }
    for (InetAddress vip : announced) {
      Long dl = ownedDeadlines.get(vip);
      if (dl != null) {
        announcer.announce(vip, dl);
      }
    }
  }

  private NodeDesired withDeadlines(NodeDesired d) {
    Set<dev.vipgress.nat.OwnedVip> owned = new LinkedHashSet<>();
    for (var o : d.owned()) {
      Long dl = ownedDeadlines.get(o.vip());
      owned.add(
          dl == null ? o : new dev.vipgress.nat.OwnedVip(o.vip(), o.backends(), dl, o.scope()));
    }
    return new NodeDesired(owned, d.steering(), d.clusterRanges());
  }

  private void reconcile() {
    if (closing || !watch.synced()) {
      return;
    }
    try {
      reconcileOnce();
      retryDelayMs = 0;
    } catch (RuntimeException e) {
      retryDelayMs = Math.min(Math.max(retryDelayMs * 2, 200), 10_000);
      LOG.error("reconcileFailed retryInMs={} error={}", retryDelayMs, e.toString(), e);
      var unused = loop.schedule(this::trigger, retryDelayMs, TimeUnit.MILLISECONDS);
    }
  }

  private void reconcileOnce() {
    SpeakerConfig cfg = config.get();
    List<Cidr> ranges = cfg.clusterRanges().stream().map(Cidr::parse).toList();
    ClusterView view = watch.view();
    for (ServiceKey gone : lastServices) {
      if (!view.services().containsKey(gone)) {
        writer.forget(gone);
      }
    }
    lastServices = view.services().keySet();
    Plan plan = Planner.plan(view, ranges, Set.of(Mode.L2));
    lastPlan = plan;
    report(plan.problems());

    // Eligibility (node-level) and candidacy (per VIP).
    NodeInfo me = view.nodes().get(self);
    boolean eligible =
        me != null
            && me.ready()
            && !me.labels().containsKey(Labels.EXCLUDE_LB)
            && cfg.nodeSelector().entrySet().stream()
                .allMatch(e -> e.getValue().equals(me.labels().get(e.getKey())))
            && announcer.healthy();
    List<InetAddress> myAddrs =
        me == null
            ? List.of()
            : me.internalIps().stream().map(IpLiteral::parse).flatMap(Optional::stream).toList();
    Set<String> candidacy = new LinkedHashSet<>();
    for (VipSpec s : plan.vips().values()) {
      if (s.mode() != Mode.L2) {
        continue;
      }
      if (!Planner.sameFamily(s.vip(), myAddrs)) {
        for (ServiceKey k : s.services()) {
          writer.event(
              k,
              true,
              "NoAddressFamily",
              "node "
                  + self
                  + " has no "
                  + (s.vip() instanceof java.net.Inet6Address ? "IPv6" : "IPv4")
                  + " address to announce VIP "
                  + s.text()
                  + " on; it will not compete for it");
        }
      } else if (!onSegment(s.vip())) {
        for (ServiceKey k : s.services()) {
          writer.event(
              k,
              false,
              "NotOnSegment",
              "node "
                  + self
                  + " does not compete for L2 VIP "
                  + s.text()
                  + ": it is in no subnet of the node's announcing interface "
                  + steering.localSubnets()
                  + ", so its ARP/NDP answers would reach nobody");
        }
      } else {
        candidacy.add(s.text());
      }
    }
    election.setHealthy(eligible);
    election.setCandidacy(eligible ? candidacy : Set.of());

    // Owned is what the elector says until it says lost(). Fencing by deadline is the datapath's
    // and the announcer's job (kernel state that expires, a per-packet deadline check): dropping a
    // VIP here when a renewal is merely late would flap the whole takeover.
    Set<InetAddress> ownedNow = new LinkedHashSet<>();
    for (InetAddress vip : ownedDeadlines.keySet()) {
      if (plan.vips().containsKey(vip)) {
        ownedNow.add(vip);
      }
    }
    Map<InetAddress, Long> ownedEgress = new HashMap<>();
    for (InetAddress vip : ownedNow) {
      ownedEgress.put(vip, ownedDeadlines.get(vip));
    }
    Set<InetAddress> newly = new LinkedHashSet<>(ownedNow);
    newly.removeAll(announced);
    Set<InetAddress> releasing = new LinkedHashSet<>(announced);
    releasing.removeAll(ownedNow);

    // Release: stop answering first.
    for (InetAddress vip : releasing) {
      withVip(vip, () -> announcer.withdraw(vip));
      announced.remove(vip);
      metrics.transitions.labelValues("released").inc();
      VipSpec was = lastPlanSpec(vip);
      for (ServiceKey k : was == null ? List.<ServiceKey>of() : was.services()) {
        writer.event(
            k,
            false,
            "VipWithdrawn",
            "node " + self + " stopped announcing " + Addresses.format(vip));
      }
      LOG.info("vipWithdrawn vip={}", Addresses.format(vip));
    }

    EgressPlanner.Result egress =
        EgressPlanner.desired(
            plan, self, Map.copyOf(owners), view.nodes(), ranges, ownedEgress, steering);
    report(egress.problems());
    NodeDesired target = egress.desired();

    if (!newly.isEmpty()) {
      // Step 1: SNAT + guard for the new VIPs, steering left as it was.
      apply(new NodeDesired(target.owned(), applied.steering(), target.clusterRanges()));
      // Step 2: announce (GARP burst).
      for (InetAddress vip : newly) {
        withVip(vip, () -> announcer.announce(vip, ownedDeadlines.get(vip)));
        announced.add(vip);
      }
    }
    // Step 3 (and the whole release): final state in one transaction.
    apply(target);

    for (InetAddress vip : newly) {
      VipSpec s = plan.vips().get(vip);
      Long t0 = acquiredAt.remove(vip);
      if (t0 != null) {
        metrics.takeoverSeconds.observe((System.nanoTime() - t0) / 1e9);
      }
      metrics.transitions.labelValues("acquired").inc();
      LOG.info(
          "vipAnnounced vip={} egress={} backends={}",
          Addresses.format(vip),
          s.egress(),
          s.backends().size());
    }
    // Every Service of an owned VIP carries the owner annotation and its Events, also a Service
    // that joins (shares) a VIP this node already owns.
    for (InetAddress vip : announced) {
      VipSpec s = plan.vips().get(vip);
      Set<ServiceKey> told = toldServices.computeIfAbsent(vip, k -> new HashSet<>());
      for (ServiceKey k : s.services()) {
        if (!told.add(k)) {
          continue;
        }
        writer.annotateOwner(k);
        writer.event(
            k,
            false,
            "VipAnnounced",
            "node " + self + " announces " + Addresses.format(vip) + " (l2)");
        if (s.egress()) {
          writer.event(
              k,
              false,
              "EgressReady",
              "node "
                  + self
                  + " SNATs "
                  + s.backends().size()
                  + " backend(s) to "
                  + Addresses.format(vip));
        }
      }
      told.retainAll(s.services());
    }
    toldServices.keySet().retainAll(announced);
    metrics.ownedVips.set(announced.size());
    metrics.vips.labelValues("l2").set(plan.vips().size());
    status = buildStatus(plan);
    ready = true;
  }

  private VipSpec lastPlanSpec(InetAddress vip) {
    return lastPlan.vips().get(vip);
  }

  private void apply(NodeDesired d) {
    if (d.equals(applied)) {
      return;
    }
    long t0 = System.nanoTime();
    try {
      nat.apply(d);
      applied = d;
    } catch (RuntimeException e) {
      metrics.natApplyFailures.inc();
      throw e;
    } finally {
      metrics.natApplySeconds.observe((System.nanoTime() - t0) / 1e9);
    }
  }

  private void report(Collection<Problem> problems) {
    for (Problem p : problems) {
      MDC.put("service", p.service().toString());
      try {
        writer.event(p.service(), true, p.reason(), p.message());
      } finally {
        MDC.remove("service");
      }
    }
  }

  private static void withVip(InetAddress vip, Runnable r) {
    MDC.put("vip", Addresses.format(vip));
    try {
      r.run();
    } finally {
      MDC.remove("vip");
    }
  }

  private List<VipStatus> buildStatus(Plan plan) {
    List<VipStatus> out = new ArrayList<>();
    for (VipSpec s : plan.vips().values()) {
      boolean mine = announced.contains(s.vip());
      String state;
      if (!s.egress()) {
        state = "off";
      } else if (mine) {
        state = "snat";
      } else {
        state =
            s.backends().stream().anyMatch(b -> self.equals(b.node()))
                ? (applied.steering().values().stream().anyMatch(st -> st.vip().equals(s.vip()))
                    ? "steered"
                    : "pending")
                : "remote";
      }
      out.add(
          new VipStatus(
              s.text(),
              s.mode().label(),
              owners.getOrDefault(s.text(), ""),
              mine,
              s.egress(),
              s.services().stream().map(ServiceKey::toString).toList(),
              s.backends().stream()
                  .map((Backend b) -> Addresses.format(b.ip()) + "@" + b.node())
                  .sorted()
                  .toList(),
              state));
    }
    out.sort(java.util.Comparator.comparing(VipStatus::vip));
    return out;
  }

  /**
   * SIGTERM: stop answering, hand every VIP over through the election (another node takes over at
   * once), and remove our kernel state.
   */
  @Override
  public void close() {
    if (loop.isShutdown()) {
      return;
    }
    var done =
        loop.submit(
            () -> {
              closing = true;
              for (InetAddress vip : announced) {
                announcer.withdraw(vip);
              }
              announced.clear();
              election.close();
              nat.close(false);
              LOG.info("speakerStopped handedOver={}", ownedDeadlines.size());
              ownedDeadlines.clear();
            });
    try {
      done.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.error("shutdownIncomplete error={}", e.toString());
    }
    loop.shutdownNow();
  }
}
