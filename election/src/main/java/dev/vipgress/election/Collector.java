package dev.vipgress.election;

import static dev.vipgress.election.Leases.INCARNATION;

import dev.vipgress.election.Placement.Candidate;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage collection: liveness Leases of nodes gone for good, released VIP Leases nobody took
 * (which node collects: {@link #isGcNode}), and pruning handoff records nothing refers to any more.
 * Loop-confined.
 */
final class Collector {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  Collector(ElectorCore c) {
    this.c = c;
  }

  /** Handoff records kept on a liveness Lease before unreferenced ones are dropped. */
  static final int KEEP_HANDOFFS = 4;

  /** The node that garbage-collects a released Lease: first in rendezvous order of live nodes. */
  boolean isGcNode(String v, long now) {
    if (!c.liveness.ownValid(now)) {
      return false;
    }
    List<Candidate> cands = new ArrayList<>();
    cands.add(new Candidate(c.node, true));
    for (Peer p : c.peers.peers.values()) {
      if (!p.node.equals(c.node)
          && p.present()
          && p.sameProtocol()
          && !p.fenced()
          && !p.stopped()
          && !c.peers.lapsed(p, now)) {
        cands.add(new Candidate(p.node, true));
      }
    }
    return Placement.rank(v, cands, null).get(0).node().equals(c.node);
  }

  void scheduleNodeGc() {
    long period =
        Math.max(c.config.renewInterval().toNanos(), c.config.releasedLeaseGc().toNanos() / 6);
    c.timers.arm(
        Timers.Job.NODE_GC,
        period,
        () -> {
          if (c.phase == ElectorCore.Phase.CLOSED || c.closing) {
            return;
          }
          checkNodeGc();
          c.writer.pump();
          scheduleNodeGc();
        });
  }

  /**
   * A liveness Lease that is fenced, stopped or silent for {@code releasedLeaseGc}, and that
   * nothing refers to any more (no VIP Lease, tombstone, genesis member or handoff heir names the
   * node), is deleted by the first live node in its rendezvous order: nodes removed from the
   * cluster leave nothing behind. A node that comes back simply writes a new one.
   */
  void checkNodeGc() {
    long now = c.loop.nanoTime();
    if (c.phase != ElectorCore.Phase.RUNNING
        || !c.liveness.ownValid(now)
        || !c.liveness.apiHealthy(now)) {
      return;
    }
    Set<String> referenced = null;
    for (Peer p : c.peers.peers.values()) {
      if (!goneForGood(p, now)) {
        continue;
      }
      if (referenced == null) {
        referenced = referencedNodes();
      }
      if (!referenced.contains(p.node) && isGcNode(Leases.nodeLeaseName(p.node), now)) {
        c.writer.enqueue(new LeaseWriter.Key(LeaseWriter.KeyKind.NODE_GC, p.node), false);
      }
    }
  }

  boolean goneForGood(Peer p, long now) {
    return !p.node.equals(c.node)
        && p.present()
        && p.sameProtocol()
        && (p.fenced() || p.stopped() || c.peers.lapsed(p, now))
        && now - Math.max(p.changedAt, c.peers.resyncAt) - c.config.releasedLeaseGc().toNanos()
            >= 0;
  }

  /** Nodes something still refers to: a VIP Lease, a tombstone, the genesis, a handoff record. */
  Set<String> referencedNodes() {
    Set<String> r = new HashSet<>();
    for (V1Lease l : c.view.vips.values()) {
      r.add(Leases.holder(l));
    }
    for (LeaseView.Tombstone t : c.view.tombstones.values()) {
      r.add(t.holder());
    }
    if (c.genesis.genesis != null) {
      r.addAll(c.genesis.genesis.members().heirs().keySet());
    }
    for (Peer q : c.peers.peers.values()) {
      for (Handoffs.Entry e : q.handoffs().values()) {
        r.addAll(e.heirs().keySet());
      }
    }
    for (Handoffs.Entry e : c.liveness.ownHandoffs().values()) {
      r.addAll(e.heirs().keySet());
    }
    return r;
  }

  LeaseWriter.Op planNodeGc(LeaseWriter.Key k) {
    long now = c.loop.nanoTime();
    Peer p = c.peers.peers.get(k.id());
    String name = Leases.nodeLeaseName(k.id());
    if (c.phase != ElectorCore.Phase.RUNNING
        || c.closing
        || p == null
        || !goneForGood(p, now)
        || referencedNodes().contains(p.node)
        || !isGcNode(name, now)) {
      return null;
    }
    String rv = Leases.resourceVersion(p.lease);
    return new LeaseWriter.Op(
        k,
        LeaseWriter.OpKind.NODE_GC,
        name,
        a -> {
          a.delete(name, rv);
          return null;
        });
  }

  void onNodeGcDone(LeaseWriter.Op op, ApiException error) {
    String x = op.key().id();
    if (error == null || error.getCode() == 404) {
      log.info("nodeLeaseCollected node={} peer={}: gone and referenced by nothing", c.node, x);
      c.peers.removeNode(x, c.loop.nanoTime());
    } else if (error.getCode() != 409) { // 409: it changed (came back); looked at again later
      c.metrics.apiErrors.inc();
      log.warn(
          "nodeLeaseGcFailed node={} peer={} code={} error={}",
          c.node,
          x,
          error.getCode(),
          ElectorCore.shortError(error));
    }
  }

  static void putHandoffs(V1Lease body, Map<String, Handoffs.Entry> entries) {
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
  void prune(String x, Map<String, Handoffs.Entry> entries, String keep) {
    if (entries.size() <= KEEP_HANDOFFS) {
      return;
    }
    Set<String> referenced = new HashSet<>();
    for (V1Lease l : c.view.vips.values()) {
      if (x.equals(Leases.holder(l))) {
        referenced.add(Leases.annotation(l, INCARNATION));
      }
    }
    for (LeaseView.Tombstone t : c.view.tombstones.values()) {
      if (x.equals(t.holder())) {
        referenced.add(t.incarnation());
      }
    }
    for (Peer q : c.peers.peers.values()) {
      for (Handoffs.Entry e : q.handoffs().values()) {
        referenced.add(e.heirs().get(x));
      }
    }
    for (Handoffs.Entry e : c.liveness.ownHandoffs().values()) {
      referenced.add(e.heirs().get(x));
    }
    if (c.genesis.genesis != null) {
      referenced.add(c.genesis.genesis.members().heirs().get(x));
    }
    entries.keySet().removeIf(inc -> !inc.equals(keep) && !referenced.contains(inc));
  }
}
