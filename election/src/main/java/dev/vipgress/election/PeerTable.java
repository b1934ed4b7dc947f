package dev.vipgress.election;

import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer table: every node's liveness Lease as last seen and its lapse clock (local monotonic
 * time of the last change seen, restarted whenever this node's own API access recovers), the live
 * eligible peers placement uses, and peers joining during the startup grace. Loop-confined.
 */
final class PeerTable {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  PeerTable(ElectorCore c) {
    this.c = c;
  }

  final Map<String, Peer> peers = new HashMap<>();

  List<Peer> eligiblePeers = List.of();

  long resyncAt = Long.MIN_VALUE;

  long lastPeerJoin = Long.MIN_VALUE;

  final Set<String> everEligible = new HashSet<>();

  void applyNodeLease(V1Lease l, long now) {
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
      log.info("nodeLive node={} peer={}", c.node, x);
    }
    scheduleLapseCheck(p, now);
    if (x.equals(c.node)) {
      c.liveness.onOwnObserved(l);
    }
    if (changed) {
      refreshPeers(now);
      if (!x.equals(c.node)) {
        // the VIPs this peer held may have moved (a handoff, a fence): those first, then the rest
        for (Map.Entry<String, Optional<String>> e :
            new ArrayList<>(c.reporter.reportedOwners().entrySet())) {
          if (e.getValue().isPresent() && e.getValue().get().equals(x)) {
            c.decider.evaluate(e.getKey());
          }
        }
      }
      c.decider.fullPass();
    }
  }

  void removeNode(String x, long now) {
    Peer p = peers.get(x);
    if (p == null || p.lease == null) {
      return;
    }
    p.referencedIncarnation = p.incarnation();
    p.lease = null;
    p.changedAt = now;
    log.info("nodeLeaseDeleted node={} peer={}", c.node, x);
    scheduleLapseCheck(p, now);
    if (x.equals(c.node) && c.phase == ElectorCore.Phase.RUNNING) {
      c.liveness.renewNow();
    }
    refreshPeers(now);
    c.decider.fullPass();
  }

  Peer peer(String x, long now) {
    Peer p = peers.get(x);
    if (p == null) {
      p = new Peer(x, now);
      peers.put(x, p);
      scheduleLapseCheck(p, now);
    }
    return p;
  }

  long lapseAt(Peer p) {
    return Math.max(p.changedAt, resyncAt) + p.durationNanos(c.durationNanos);
  }

  boolean lapsed(Peer p, long now) {
    return now - lapseAt(p) >= 0;
  }

  /**
   * The lapse clocks restart (a re-list, or this node's own API access recovered): a peer that had
   * lapsed is live again until it stays silent for its lease duration from now, and is checked
   * again then — without a new check it would never lapse again, and its VIPs would never be fenced
   * over.
   */
  void resynced(long now) {
    resyncAt = now;
    for (Peer p : peers.values()) {
      if (p.lapsed && !lapsed(p, now)) {
        p.lapsed = false;
      }
      scheduleLapseCheck(p, now);
    }
  }

  void scheduleLapseCheck(Peer p, long now) {
    if (p.checkScheduled || p.node.equals(c.node)) {
      return;
    }
    p.checkScheduled = true;
    c.loop.schedule(() -> checkLapse(p), Math.max(0, lapseAt(p) - now));
  }

  void checkLapse(Peer p) {
    p.checkScheduled = false;
    long now = c.loop.nanoTime();
    boolean l = lapsed(p, now);
    if (l != p.lapsed) {
      p.lapsed = l;
      if (l && p.present() && !p.fenced() && !p.stopped()) {
        log.info(
            "nodeLapsed node={} peer={} silentMs={}",
            c.node,
            p.node,
            (now - Math.max(p.changedAt, resyncAt)) / 1_000_000);
      }
      refreshPeers(now);
      c.decider.fullPass();
    }
    if (!l) {
      scheduleLapseCheck(p, now);
    }
  }

  /** Recomputes the eligible peers (for placement) and the node gauges. */
  void refreshPeers(long now) {
    List<Peer> eligible = new ArrayList<>();
    int live = 0;
    for (Peer p : peers.values()) {
      if (p.node.equals(c.node)) {
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
      if (everEligible.add(p.node)
          && c.phase == ElectorCore.Phase.RUNNING
          && now - c.decider.graceEnd() < 0) {
        lastPeerJoin = now;
        c.loop.schedule(c.decider::fullPass, Math.max(0, c.decider.graceEnd() - now));
      }
    }
    boolean selfLive = c.phase == ElectorCore.Phase.RUNNING && c.liveness.ownValid(now);
    c.metrics.liveNodes = live + (selfLive ? 1 : 0);
    c.metrics.eligibleNodes = eligible.size() + (selfLive && c.healthy && !c.closing ? 1 : 0);
  }
}
