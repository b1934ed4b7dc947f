package dev.vipgress.sim;

import dev.vipgress.election.ElectionConfig;
import dev.vipgress.election.ElectionListener;
import dev.vipgress.election.LeaseElector;
import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EgressPlanner;
import dev.vipgress.speaker.model.IpLiteral;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.Planner;
import dev.vipgress.speaker.model.VipSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A small reconciler model that keeps the ownership contract (the reference the real reconciler is
 * held to, and the host of deliberately broken variants that prove the simulator catches them): one
 * loop, takeover = SNAT then announce, release = withdraw then steer; {@code lostAll} completes
 * only after the VIPs were withdrawn. {@link Variant#IGNORES_BARRIER} completes it at once and
 * withdraws a reconcile later (bug 2).
 */
final class ModelDaemon implements Daemon, ElectionListener {
  enum Variant {
    CORRECT,
    IGNORES_BARRIER
  }

  private final SimProcess process;
  private final Variant variant;
  private final List<Cidr> ranges = ClusterTruth.CLUSTER_RANGES.stream().map(Cidr::parse).toList();
  private final SimProcess.SimScheduler loop;
  private final SimProcess.SimScheduler electionLoop;
  private final LeaseElector elector;
  private final AnnouncerModel announcer;
  private final ClusterTruth.View source;
  private final KernelModel kernel;
  private final Map<InetAddress, Long> owned = new TreeMap<>(KernelModel::compare);
  private final Map<String, String> owners = new TreeMap<>();
  private final Set<InetAddress> announced = new TreeSet<>(KernelModel::compare);
  private boolean pending;

  ModelDaemon(SimProcess process, ElectionConfig config, Variant variant) {
    this.process = process;
    this.variant = variant;
    Machine m = process.machine;
    this.loop = process.new SimScheduler(m.name + " reconcile");
    this.electionLoop = process.new SimScheduler(m.name + " election");
    this.elector = Daemon.elector(process, config, this, electionLoop);
    this.announcer = new AnnouncerModel(process);
    this.kernel = m.kernel;
    this.source = m.cluster.truth.new View(process);
    source.onChange(this::trigger);
  }

  @Override
  public AnnouncerModel announcer() {
    return announcer;
  }

  @Override
  public void start() {
    announcer.onHealthChange(this::trigger);
    source.start();
    elector.start();
    trigger();
  }

  /**
   * Hands over: the elector's close reports every VIP lost, the loop withdraws them and only then
   * the release is written; the kernel keeps the steering (closing with hand-over).
   */
  @Override
  public void sigterm() {
    loop.execute(() -> Daemon.candidacy(() -> elector, electionLoop, process.world).close());
  }

  private void trigger() {
    if (!pending) {
      pending = true;
      loop.execute(
          () -> {
            pending = false;
            reconcile();
          });
    }
  }

  // ---- election callbacks ----

  @Override
  public void acquired(String vip, long deadline) {
    IpLiteral.parse(vip)
        .ifPresent(
            a ->
                loop.execute(
                    () -> {
                      owned.put(a, deadline);
                      trigger();
                    }));
  }

  @Override
  public void renewed(String vip, long deadline) {
    renewedAll(Set.of(vip), deadline);
  }

  @Override
  public void renewedAll(Set<String> vips, long deadline) {
    List<InetAddress> parsed = new ArrayList<>();
    for (String v : new TreeSet<>(vips)) {
      IpLiteral.parse(v).ifPresent(parsed::add);
    }
    loop.execute(
        () -> {
          for (InetAddress a : parsed) {
            owned.put(a, deadline);
            if (announced.contains(a)) {
              announcer.announce(a, deadline);
            }
          }
          kernel.refresh(withDeadlines(kernel.state()));
          reconcile();
        });
  }

  @Override
  public void lost(String vip) {
    lostAll(Set.of(vip), LossReason.TAKEN);
  }

  @Override
  public void lost(String vip, LossReason reason) {
    lostAll(Set.of(vip), reason);
  }

  /**
   * Withdraws before returning (the elector writes the release once this returned), except in
   * {@link Variant#IGNORES_BARRIER}, which only enqueues the withdrawal.
   */
  @Override
  public CompletionStage<Void> lostAll(Set<String> vips, LossReason reason) {
    List<InetAddress> parsed = new ArrayList<>();
    for (String v : new TreeSet<>(vips)) {
      IpLiteral.parse(v).ifPresent(parsed::add);
    }
    if (variant == Variant.IGNORES_BARRIER) {
      loop.schedule(
          () -> {
            parsed.forEach(owned::remove);
            reconcile();
          },
          process.world.nanosBetween(5, 300));
      return CompletableFuture.completedFuture(null);
    }
    for (InetAddress a : parsed) {
      owned.remove(a);
      if (announced.remove(a)) {
        announcer.withdraw(a);
      }
    }
    NodeDesired cur = kernel.state();
    Set<dev.vipgress.nat.OwnedVip> keep = new java.util.LinkedHashSet<>();
    for (var o : cur.owned()) {
      if (!parsed.contains(o.vip())) {
        keep.add(o);
      }
    }
    kernel.apply(new NodeDesired(keep, cur.steering(), cur.clusterRanges(), cur.egressBackends()));
    trigger();
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void ownerChanged(String vip, Optional<String> node) {
    loop.execute(
        () -> {
          if (node.isPresent()) {
            owners.put(vip, node.get());
          } else {
            owners.remove(vip);
          }
          trigger();
        });
  }

  // ---- the loop ----

  private NodeDesired withDeadlines(NodeDesired d) {
    Set<dev.vipgress.nat.OwnedVip> out = new java.util.LinkedHashSet<>();
    for (var o : d.owned()) {
      Long dl = owned.get(o.vip());
      out.add(dl == null ? o : new dev.vipgress.nat.OwnedVip(o.vip(), o.backends(), dl, o.scope()));
    }
    return new NodeDesired(out, d.steering(), d.clusterRanges(), d.egressBackends());
  }

  private void reconcile() {
    if (!source.synced()) {
      return;
    }
    ClusterView view = source.view();
    Plan plan = Planner.plan(view, ranges, Set.of(Mode.L2));
    NodeInfo me = view.nodes().get(process.machine.name);
    boolean eligible = me != null && me.ready() && announcer.healthy();
    Set<String> candidacy = new TreeSet<>();
    for (VipSpec s : plan.vips().values()) {
      candidacy.add(s.text());
    }
    elector.setHealthy(eligible);
    elector.setCandidacy(eligible ? candidacy : Set.of());

    Map<InetAddress, Long> mine = new TreeMap<>(KernelModel::compare);
    owned.forEach(
        (v, d) -> {
          if (plan.vips().containsKey(v)) {
            mine.put(v, d);
          }
        });
    for (InetAddress v : new ArrayList<>(announced)) {
      if (!mine.containsKey(v)) {
        announcer.withdraw(v);
        announced.remove(v);
      }
    }
    NodeDesired target =
        EgressPlanner.desired(
                plan, process.machine.name, Map.copyOf(owners), view.nodes(), ranges, mine)
            .desired();
    try {
      List<InetAddress> newly = new ArrayList<>();
      for (InetAddress v : mine.keySet()) {
        if (!announced.contains(v)) {
          newly.add(v);
        }
      }
      if (!newly.isEmpty()) {
        kernel.apply(
            new NodeDesired(
                target.owned(),
                kernel.state().steering(),
                target.clusterRanges(),
                target.egressBackends()));
        for (InetAddress v : newly) {
          announcer.announce(v, mine.get(v));
          announced.add(v);
        }
      }
      kernel.apply(target);
    } catch (RuntimeException e) {
      loop.schedule(this::trigger, World.ms(200));
    }
  }
}
