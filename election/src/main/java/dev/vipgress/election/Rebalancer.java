package dev.vipgress.election;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opt-in rebalancing ({@code rebalanceInterval}): an over-share node hands one VIP per interval to
 * an under-share node, and what this node competes for ({@link #wants}: its candidacy minus VIPs
 * handed on just now). Loop-confined.
 */
final class Rebalancer {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  Rebalancer(ElectorCore c) {
    this.c = c;
  }

  final Map<String, Long> declined = new HashMap<>();

  /** Whether this node competes for {@code v}: in the candidacy and not handed on just now. */
  boolean wants(String v, long now) {
    if (!c.candidacy.contains(v)) {
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

  void scheduleRebalance() {
    if (c.config.rebalanceInterval().isZero()) {
      return;
    }
    c.timers.arm(
        Timers.Job.REBALANCE,
        c.config.rebalanceInterval().toNanos(),
        () -> {
          if (c.phase == ElectorCore.Phase.CLOSED || c.closing) {
            return;
          }
          rebalanceOne();
          c.writer.pump();
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
  void rebalanceOne() {
    long now = c.loop.nanoTime();
    if (c.phase != ElectorCore.Phase.RUNNING
        || !c.healthy
        || !c.liveness.ownValid(now)
        || !c.liveness.apiHealthy(now)
        || c.genesis.genesisLease != null
        || !c.writer.writes.idle()
        || c.reporter.anyReleasePending()
        || c.reporter.announcedVips().isEmpty()) {
      return;
    }
    Map<String, Integer> load = new HashMap<>();
    load.put(c.node, 0);
    List<String> peersAlike = new ArrayList<>();
    for (Peer p : c.peers.eligiblePeers) {
      load.put(p.node, 0);
      if (c.candidacyStamp.equals(p.candidacy())) {
        peersAlike.add(p.node);
      }
    }
    int total = 0;
    for (Optional<String> o : c.reporter.reportedOwners().values()) {
      if (o.isPresent() && load.containsKey(o.get())) {
        load.merge(o.get(), 1, Integer::sum);
        total++;
      }
    }
    int floor = total / load.size();
    int ceil = (total + load.size() - 1) / load.size();
    if (load.get(c.node) <= ceil || peersAlike.isEmpty()) {
      return;
    }
    for (String v : new TreeSet<>(c.reporter.announcedVips())) {
      String to = Placement.first(v, peersAlike);
      if (load.get(to) < floor) {
        declined.put(v, now + 2 * c.config.placementFallback().toNanos() + c.durationNanos);
        log.info("vipRebalanced node={} vip={} to={} load={}", c.node, v, to, load);
        c.decider.evaluate(v); // lost() first; the release follows once the listener has it
        return;
      }
    }
  }
}
