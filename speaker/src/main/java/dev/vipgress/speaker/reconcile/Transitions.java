package dev.vipgress.speaker.reconcile;

import dev.vipgress.election.Scheduler;
import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.OwnedVip;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.VipSpec;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import dev.vipgress.speaker.reconcile.ReconcileResult.Failure;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ownership transition on this node, in its fixed order (architecture.md), and what it left in
 * place: the VIPs announced (with their mode) and the datapath state last applied. Takeover: SNAT +
 * guard, then announce (GARP burst), then stop steering local pods elsewhere. Release: withdraw the
 * announcement, then steer local pods to the new owner and remove the SNAT in one transaction.
 * Confined to the reconcile loop.
 */
final class Transitions {
  private static final Logger LOG = LoggerFactory.getLogger(Transitions.class);

  /**
   * What one pass did: the VIPs newly announced, what failed (each costs only itself), and the
   * datapath elements the kernel refused in it.
   */
  record Outcome(
      List<InetAddress> announced, List<Failure> failed, List<ApplyResult.Refused> refused) {}

  private final Scheduler clock;
  private final Datapath datapath;
  private final Map<Mode, Announcer> announcers;
  private final SpeakerMetrics metrics;
  private final ServiceReports reports;
  private final Map<InetAddress, Mode> announced = new LinkedHashMap<>();

  /**
   * {@link #announced} for the election's thread ({@link #rearm}): a VIP leaves it before it is
   * withdrawn, so a re-arm never re-announces a withdrawn VIP.
   */
  private final Map<InetAddress, Mode> live = new ConcurrentHashMap<>();

  /** VIP text → the latest deadline the elector handed over (written by the election's thread). */
  private final Map<String, Long> latest;

  private NodeDesired applied = NodeDesired.empty();
  private final List<ApplyResult.Refused> refusedInPass = new ArrayList<>();

  /**
   * Whether the kernel may not hold {@link #applied}: it refused part of it, or changed under it.
   * The next pass applies it again (against the kernel).
   */
  private boolean incomplete;

  Transitions(
      Scheduler clock,
      Datapath datapath,
      Map<Mode, Announcer> announcers,
      SpeakerMetrics metrics,
      ServiceReports reports,
      Map<String, Long> latest) {
    this.latest = latest;
    this.clock = clock;
    this.datapath = datapath;
    this.announcers = announcers;
    this.metrics = metrics;
    this.reports = reports;
  }

  boolean announced(InetAddress vip) {
    return announced.containsKey(vip);
  }

  Set<InetAddress> announcedVips() {
    return announced.keySet();
  }

  NodeDesired applied() {
    return applied;
  }

  /** Whether this node neither announces nor SNATs to {@code vip}. */
  boolean stopped(InetAddress vip) {
    return !announced.containsKey(vip)
        && applied.owned().stream().noneMatch(o -> o.vip().equals(vip));
  }

  /**
   * Moves this node to {@code owned} (VIP → fencing deadline) and the datapath to {@code target}:
   * releases first, then takes over, then one transaction for the final state.
   *
   * @param was the plan of the previous pass, for the Services of VIPs that left the plan
   */
  Outcome run(Map<InetAddress, Long> owned, NodeDesired target, Plan plan, Plan was) {
    List<InetAddress> newly = owned.keySet().stream().filter(v -> !announced(v)).toList();
    List<InetAddress> releasing =
        announced.keySet().stream().filter(v -> !owned.containsKey(v)).toList();
    List<Failure> failed = new ArrayList<>();
    refusedInPass.clear();

    // Release: stop answering first, every VIP of a mode in one go (out of live first: a
    // concurrent re-arm either finished before, or finds nothing to re-arm).
    Map<Mode, List<InetAddress>> byMode = new java.util.EnumMap<>(Mode.class);
    for (InetAddress vip : releasing) {
      live.remove(vip);
      byMode.computeIfAbsent(announced.remove(vip), m -> new ArrayList<>()).add(vip);
    }
    byMode.forEach((mode, vips) -> announcers.get(mode).withdrawAll(vips));
    for (InetAddress vip : releasing) {
      metrics.transitions.labelValues("released").inc();
      VipSpec s = plan.vips().get(vip);
      reports.withdrawn(vip, s != null ? s : was.vips().get(vip));
      LOG.atInfo().addKeyValue("vip", Addresses.format(vip)).log("vipWithdrawn");
    }

    List<InetAddress> announcedNow = new ArrayList<>();
    if (!newly.isEmpty()) {
      // Step 1: SNAT + guard for the new VIPs, steering left as it was.
      int refusedBefore = refusedInPass.size();
      Optional<Failure> snat =
          apply(
              new NodeDesired(
                  target.owned(),
                  applied.steering(),
                  target.clusterRanges(),
                  target.egressBackends()));
      snat.ifPresent(failed::add);
      // Step 2: announce (GARP burst), only over installed SNAT; one VIP's failure costs itself:
      // a refused element holds back only the VIPs it names, a failed transaction all of them.
      List<ApplyResult.Refused> refusedNow =
          refusedInPass.subList(refusedBefore, refusedInPass.size());
      boolean wholeFailed = snat.isPresent() && refusedNow.isEmpty();
      Set<InetAddress> held = new LinkedHashSet<>();
      refusedNow.forEach(r -> held.addAll(RefusedElements.addresses(r.element())));
      for (InetAddress vip : wholeFailed ? List.<InetAddress>of() : newly) {
        if (held.contains(vip)) {
          continue; // its SNAT is not in place: retried with the element
        }
        Mode mode = plan.vips().get(vip).mode();
        try {
          announcers.get(mode).announce(vip, owned.get(vip));
          announced.put(vip, mode);
          live.put(vip, mode);
          announcedNow.add(vip);
        } catch (RuntimeException e) {
          failed.add(new Failure("announce " + Addresses.format(vip), e.toString()));
        }
      }
    }
    // Step 3 (and the whole release): final state in one transaction.
    apply(target).ifPresent(failed::add);

    for (InetAddress vip : announcedNow) {
      VipSpec s = plan.vips().get(vip);
      metrics.transitions.labelValues("acquired").inc();
      LOG.atInfo()
          .addKeyValue("vip", s.text())
          .addKeyValue("mode", s.mode().label())
          .addKeyValue("egress", s.egress())
          .addKeyValue("backends", s.backends().size())
          .log("vipAnnounced");
    }
    metrics.ownedVips.set(announced.size());
    return new Outcome(announcedNow, failed, List.copyOf(refusedInPass));
  }

  /** The kernel changed under the datapath: the next pass applies even an unchanged target. */
  void recheck() {
    incomplete = true;
  }

  /**
   * Re-arms {@code vip}, if announced here, to the later of {@code deadline} and the latest one the
   * elector handed over. Any thread: a renewal re-arms as it lands, never behind an apply.
   */
  void rearm(InetAddress vip, long deadline) {
    live.computeIfPresent(
        vip,
        (v, m) -> {
          Long newer = latest.get(Addresses.format(v));
          announcers.get(m).announce(v, newer == null ? deadline : Math.max(deadline, newer));
          return m;
        });
  }

  /**
   * Re-arms the announcements, then the expiring kernel state, with the new deadlines; nothing
   * else.
   */
  Optional<Failure> refresh(Map<InetAddress, Long> deadlines) {
    announced
        .keySet()
        .forEach(vip -> Optional.ofNullable(deadlines.get(vip)).ifPresent(dl -> rearm(vip, dl)));
    Set<OwnedVip> owned = new LinkedHashSet<>();
    for (OwnedVip o : applied.owned()) {
      Long dl = deadlines.get(o.vip());
      owned.add(dl == null ? o : new OwnedVip(o.vip(), o.backends(), dl, o.scope()));
    }
    NodeDesired d =
        new NodeDesired(
            owned, applied.steering(), applied.clusterRanges(), applied.egressBackends());
    Optional<Failure> failure = Optional.empty();
    try {
      datapath.refresh(d);
      applied = d;
    } catch (RuntimeException e) {
      failure = Optional.of(new Failure("datapath refresh", e.toString()));
    }
    return failure;
  }

  /**
   * Shutdown: stops every announcement at once, then removes the SNAT of every owned VIP while the
   * local backends stay held closed (their steering as it was, or dropped) — the kernel state a
   * hand-over leaves behind must not SNAT to a VIP whose release the elector is about to write.
   *
   * @return what failed; empty when no owned VIP is SNATed here any more
   */
  Optional<Failure> releaseAll() {
    live.clear(); // first: a concurrent re-arm either finished before, or finds nothing
    Map<Mode, List<InetAddress>> byMode = new java.util.EnumMap<>(Mode.class);
    announced.forEach((vip, mode) -> byMode.computeIfAbsent(mode, m -> new ArrayList<>()).add(vip));
    byMode.forEach((mode, vips) -> announcers.get(mode).withdrawAll(vips));
    announced.clear();
    metrics.ownedVips.set(0);
    return apply(
        new NodeDesired(
            Set.of(), applied.steering(), applied.clusterRanges(), applied.egressBackends()));
  }

  /** {@code d} with every deadline zeroed: what a full apply changes (deadlines: a refresh). */
  private static Set<OwnedVip> planOf(NodeDesired d) {
    Set<OwnedVip> s = new java.util.HashSet<>();
    d.owned().forEach(o -> s.add(new OwnedVip(o.vip(), o.backends(), 0, o.scope())));
    return s;
  }

  private Optional<Failure> apply(NodeDesired d) {
    if (d.equals(applied) && !incomplete) {
      return Optional.empty();
    }
    if (!incomplete
        && d.steering().equals(applied.steering())
        && d.clusterRanges().equals(applied.clusterRanges())
        && d.egressBackends().equals(applied.egressBackends())
        && planOf(d).equals(planOf(applied))) {
      // only deadlines differ: the heartbeat's business, one small transaction, not a full apply
      try {
        datapath.refresh(d);
        applied = d;
        return Optional.empty();
      } catch (RuntimeException e) {
        return Optional.of(new Failure("datapath refresh", e.toString()));
      }
    }
    long t0 = clock.nanoTime();
    try {
      ApplyResult r = datapath.apply(d);
      applied = d; // everything but the refused elements is in place
      incomplete = !r.isComplete();
      if (r.isComplete()) {
        return Optional.empty();
      }
      metrics.natRefused.inc(r.refused().size());
      refusedInPass.addAll(r.refused());
      // each refused element costs only itself: the rest is applied; the retry tries it again
      return Optional.of(
          new Failure(
              "datapath: " + r.refused().size() + " element(s) refused",
              r.refused().stream().map(Object::toString).collect(Collectors.joining("; "))));
    } catch (RuntimeException e) {
      metrics.natApplyFailures.inc();
      return Optional.of(new Failure("datapath", e.toString()));
    } finally {
      metrics.natApplySeconds.observe((clock.nanoTime() - t0) / 1e9);
    }
  }
}
