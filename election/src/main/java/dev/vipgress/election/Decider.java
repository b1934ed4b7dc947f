package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import dev.vipgress.election.OwnershipResolver.HolderState;
import dev.vipgress.election.OwnershipResolver.Resolved;
import io.kubernetes.client.openapi.models.V1Lease;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Level-triggered decisions: from what the view holds now, whether this node owns each VIP ({@link
 * OwnershipResolver}), what it reports to the listener ({@link OwnershipReporter}), and which Lease
 * writes it queues (take, adopt, re-create, release, fence, genesis, collect), with placement waits
 * and the startup grace. Loop-confined.
 */
final class Decider {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  Decider(ElectorCore c) {
    this.c = c;
  }

  final Map<String, Long> freeSince = new HashMap<>();

  final Map<String, Long> frozenDeadlines = new HashMap<>();

  boolean acquireBlocked;

  /** Who holds {@code v} now in this node's view ({@link OwnershipResolver}). */
  Resolved resolve(String v, String holder, String inc, long now) {
    return OwnershipResolver.resolve(
        v,
        holder,
        inc,
        new OwnershipResolver.View() {
          @Override
          public String self() {
            return c.node;
          }

          @Override
          public String incarnation() {
            return c.liveness.incarnation;
          }

          @Override
          public Map<String, Handoffs.Entry> ownHandoffs() {
            return c.liveness.ownHandoffs();
          }

          @Override
          public Peer peer(String x) {
            return c.peers.peer(x, now);
          }

          @Override
          public boolean lapsed(Peer p) {
            return c.peers.lapsed(p, now);
          }
        });
  }

  boolean canAcquire(long now) {
    return c.phase == ElectorCore.Phase.RUNNING
        && !c.closing
        && c.healthy
        && c.liveness.ownValid(now)
        && c.liveness.nodeDeadline - now > c.config.retryInterval().toNanos()
        && now - graceEnd() >= 0
        && c.liveness.viewCurrent;
  }

  /**
   * Free VIPs are taken only after the startup grace, which restarts (up to ten times its length)
   * whenever a peer joins meanwhile: nodes started together see each other before placing VIPs.
   */
  long graceEnd() {
    long grace = c.config.startupGrace().toNanos();
    long end = c.liveness.runningSince + grace;
    if (c.peers.lastPeerJoin != Long.MIN_VALUE && c.peers.lastPeerJoin + grace - end > 0) {
      end = Math.min(c.peers.lastPeerJoin + grace, c.liveness.runningSince + 10 * grace);
    }
    return end;
  }

  /** Posts one evaluation of every VIP (coalesced). */
  void fullPass() {
    c.timers.arm(
        Timers.Job.FULL_PASS,
        0,
        () -> {
          evaluateAll();
          c.writer.pump();
        });
  }

  void evaluateAll() {
    Set<String> all = new HashSet<>(c.view.vips.keySet());
    if (c.genesis.genesis != null) {
      c.genesis.genesis.forEachVip(all::add);
    }
    all.addAll(c.view.tombstones.keySet());
    all.addAll(c.candidacy);
    all.addAll(c.reporter.announcedVips());
    all.addAll(c.reporter.reportedOwners().keySet());
    for (String v : all) {
      evaluate(v);
    }
  }

  /** Level-triggered: from what is known now, report ownership of {@code v} and queue writes. */
  void evaluate(String v) {
    long now = c.loop.nanoTime();
    LeaseView.Basis b = c.view.basis(v);
    V1Lease l = b.lease();
    Resolved r = resolve(v, b.holder(), b.incarnation(), now);
    HolderState hs = r.state();
    String holder = r.holder();
    boolean want = c.rebalancer.wants(v, now);

    boolean mine =
        hs == HolderState.MINE
            && want
            && c.healthy
            && !c.closing
            && c.liveness.ownValid(now)
            && (c.liveness.viewCurrent || c.reporter.announced(v));
    if (l != null || b.virtual() || hs != HolderState.MINE) {
      frozenDeadlines.remove(v);
    } else if (mine) {
      // Our Lease was deleted: keep the VIP only on the deadline we had, while we re-create it.
      long frozen = frozenDeadlines.computeIfAbsent(v, k -> c.liveness.nodeDeadline);
      mine = frozen - now > 0;
      if (mine) {
        wake(v, frozen, now); // one keyed timer, however often it is evaluated meanwhile
      }
    }
    report(v, mine, hs, want, now);
    Optional<String> owner =
        mine
            ? Optional.of(c.node)
            : (hs == HolderState.HELD || hs == HolderState.NEEDS_FENCE)
                ? Optional.of(holder)
                : Optional.empty();
    reportOwner(v, owner);

    if (c.phase != ElectorCore.Phase.RUNNING || c.closing) {
      return;
    }
    switch (hs) {
      case MINE -> {
        freeSince.remove(v);
        if (b.virtual() && want) {
          // given by the genesis Lease: write the VIP Lease in our name, in the background
          c.writer.adopt(v);
        } else if (l == null || !want) {
          c.writer.enqueue(LeaseWriter.Key.vip(v), true); // re-create a deleted Lease, or release
        } else if (!r.direct()) {
          c.writer.adopt(v); // inherited: write the Lease in our name, in the background
        }
      }
      case NEEDS_FENCE -> {
        freeSince.remove(v);
        c.writer.requestFence(holder);
      }
      case HELD -> freeSince.remove(v);
      case FREE -> {
        long since = freeSince.computeIfAbsent(v, k -> now);
        if (want) {
          if (c.view.aheadOfView(b)) {
            return; // judged again when the watch delivers this version (applyEvent)
          }
          if (!canAcquire(now)) {
            // retried after the next renewal if only our deadline margin stood in the way
            acquireBlocked |=
                c.healthy && c.phase == ElectorCore.Phase.RUNNING && now - graceEnd() >= 0;
          } else if (l == null && !b.virtual()) {
            c.genesis.requestGenesis(); // a VIP without a Lease gets its first owner from a genesis
            // Lease
          } else {
            long due = placementDue(v, l, holder, since, now);
            if (due - now <= 0) {
              c.writer.enqueue(LeaseWriter.Key.vip(v), false);
            } else {
              wake(v, due, now);
            }
          }
        } else if (l != null && holder.isEmpty() && !c.view.covered(v)) {
          long due = since + c.config.releasedLeaseGc().toNanos();
          if (due - now <= 0) {
            if (c.collector.isGcNode(v, now)) {
              c.writer.enqueue(LeaseWriter.Key.vip(v), false);
            }
          } else {
            wake(v, due, now);
          }
        }
      }
    }
  }

  /** When this node may take free VIP {@code v}: now if it is first in the placement order. */
  long placementDue(String v, V1Lease l, String previous, long since, long now) {
    String declined = l != null ? Leases.annotation(l, Leases.RELEASED_BY) : null;
    long vipHash = Placement.hash(v);
    int rank = 0;
    boolean allCertain = true;
    long base = since;
    for (Peer p : c.peers.eligiblePeers) {
      if (p.node.equals(declined) || !Placement.before(vipHash, p.node, c.node, previous)) {
        continue; // it let this VIP go on purpose, or it comes after us
      }
      rank++;
      if (!c.candidacyStamp.equals(p.candidacy())) {
        allCertain = false;
        continue;
      }
      if (p.lastProgress != Long.MIN_VALUE && p.lastProgress - base > 0) {
        base = p.lastProgress;
      }
      // a peer that just joined is still in its own startup grace
      if (p.liveSince != Long.MIN_VALUE && !c.config.placementFallback().isZero()) {
        long joined = p.liveSince + 2 * c.config.startupGrace().toNanos();
        if (joined - base > 0) {
          base = joined;
        }
      }
    }
    if (rank == 0) {
      return now;
    }
    return allCertain
        ? base + rank * c.config.placementFallback().toNanos()
        : since + rank * c.config.placementStagger().toNanos();
  }

  void wake(String v, long due, long now) {
    c.timers.arm(
        new Timers.Wake(v),
        due - now,
        () -> {
          evaluate(v);
          c.writer.pump();
        });
  }

  void report(String v, boolean mine, HolderState hs, boolean want, long now) {
    boolean was = c.reporter.announced(v);
    if (mine && !was) {
      long deadline = frozenDeadlines.getOrDefault(v, c.liveness.nodeDeadline);
      c.metrics.acquisitions.inc();
      ElectorCore.logVip(
          v,
          () -> log.info("leaseAcquired vip={} deadlineInMs={}", v, (deadline - now) / 1_000_000));
      c.reporter.acquired(v, deadline, frozenDeadlines.containsKey(v));
    } else if (!mine && was) {
      LossReason why;
      if (c.closing) {
        why = LossReason.SHUTDOWN;
      } else if (!c.healthy) {
        why = LossReason.UNHEALTHY;
      } else if (!want && c.candidacy.contains(v)) {
        why = LossReason.REBALANCED;
      } else if (!want) {
        why = LossReason.CANDIDACY;
      } else if (hs == HolderState.MINE) {
        why = LossReason.DEADLINE;
      } else if (c.dropReason != null
          && c.view.vips.get(v) != null
          && c.node.equals(c.view.holderOf(v))) {
        why = c.dropReason;
      } else {
        why = LossReason.TAKEN;
      }
      c.metrics.lost(why);
      ElectorCore.logVip(v, () -> log.info("leaseLost vip={} reason={}", v, why));
      c.reporter.lost(v, why);
    } else if (mine) {
      c.reporter.stillOwned(v, frozenDeadlines.get(v));
    }
  }

  void reportOwner(String v, Optional<String> owner) {
    c.reporter.owner(v, owner);
  }

  /** The listener has stopped serving {@code lost} (or their deadline passed): release them. */
  void lostDelivered(Set<String> lost) {
    if (!c.reporter.anyReleasePending() && !c.liveness.ownWritten && !c.liveness.renewing) {
      c.liveness.renewNow(); // the bulk release
    }
    for (String v : lost) {
      if ((!c.candidacy.contains(v) || c.rebalancer.declined.containsKey(v)) && !c.closing) {
        evaluate(v); // the single release of a VIP that left the candidacy
      }
    }
    c.writer.pump();
  }
}
