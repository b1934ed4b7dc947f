package dev.vipgress.election;

import static dev.vipgress.election.Leases.INCARNATION;

import dev.vipgress.election.OwnershipResolver.HolderState;
import dev.vipgress.election.OwnershipResolver.Resolved;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VIP, fence and genesis Lease writes: planned when the {@link WriteQueue} lets them start (from
 * the view at that moment, not when they were queued), sent on the I/O pool, and their responses
 * (409: read again, 404: gone) fed back into the view. Loop-confined.
 */
final class LeaseWriter {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  LeaseWriter(ElectorCore c) {
    this.c = c;
    this.writes = new WriteQueue<>(c.config.apiConcurrency());
  }

  enum KeyKind {
    VIP,
    FENCE,
    GENESIS,
    NODE_GC
  }

  /** What a queued write is about: a VIP's Lease, a peer's liveness Lease, or the genesis Lease. */
  record Key(KeyKind kind, String id) {
    static Key vip(String v) {
      return new Key(KeyKind.VIP, v);
    }

    boolean fence() {
      return kind == KeyKind.FENCE;
    }
  }

  /** What a Lease write does; also its log label. */
  enum OpKind {
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

  record Op(Key key, OpKind kind, String leaseName, IoCall call) {}

  @FunctionalInterface
  interface IoCall {
    V1Lease run(LeaseApi api) throws ApiException;
  }

  final WriteQueue<Key> writes;

  void requestFence(String x) {
    enqueue(new Key(KeyKind.FENCE, x), true);
  }

  void enqueue(Key k, boolean isUrgent) {
    writes.add(k, isUrgent ? WriteQueue.Lane.URGENT : WriteQueue.Lane.NORMAL);
  }

  /** Inherited VIPs are rewritten in our name a few at a time: it is tidying, not urgent. */
  void adopt(String v) {
    writes.add(Key.vip(v), WriteQueue.Lane.ADOPT);
  }

  /** Plans and sends the queued writes the {@link WriteQueue} lets start now. */
  void pump() {
    Key k;
    while ((k = writes.next()) != null) {
      Op op =
          switch (k.kind()) {
            case FENCE -> planFence(k);
            case GENESIS -> c.genesis.planGenesis(k);
            case NODE_GC -> c.collector.planNodeGc(k);
            case VIP -> planVip(k);
          };
      if (op == null) {
        continue;
      }
      c.metrics.requests.inc();
      writes.started(k, op.kind() == OpKind.ADOPT);
      ElectorCore.submit(
          c.wiring.io(),
          () -> {
            V1Lease result = null;
            ApiException error = null;
            try {
              result = op.call().run(c.api);
            } catch (ApiException e) {
              error = e;
            } catch (RuntimeException e) {
              error = new ApiException(e);
            }
            V1Lease r = result;
            ApiException err = error;
            c.loop.execute(() -> onOpDone(op, r, err));
          });
    }
  }

  Op planVip(Key k) {
    String v = k.id();
    long now = c.loop.nanoTime();
    if (c.phase != ElectorCore.Phase.RUNNING || c.closing) {
      return null;
    }
    String name = VipAddress.parse(v).leaseName();
    if (c.view.readBeforeWrite.remove(name)) {
      return new Op(k, OpKind.READ, name, a -> a.get(name));
    }
    LeaseView.Basis b = c.view.basis(v);
    V1Lease l = b.lease();
    String holder = b.holder();
    Resolved resolved = c.decider.resolve(v, holder, b.incarnation(), now);
    HolderState hs = resolved.state();
    boolean want = c.rebalancer.wants(v, now);
    OffsetDateTime wall = OffsetDateTime.now(c.wiring.wallClock());
    if (hs == HolderState.MINE) {
      if (!c.liveness.viewCurrent && !c.reporter.announced(v)) {
        return null; // claimed only once the view has caught up (a fullPass follows)
      }
      if (c.reporter.releasePending(v)) {
        return null; // released after the listener heard lost(); lostDelivered re-evaluates
      }
      if (l == null) {
        boolean keep = want && c.healthy && canHold(now);
        V1Lease body = newVipLease(v, keep ? c.node : "", wall, null);
        OpKind kind = !keep ? OpKind.RELEASE : b.virtual() ? OpKind.ADOPT : OpKind.RECREATE;
        return new Op(k, kind, name, a -> a.create(body));
      }
      if (!want) {
        V1Lease body = Leases.copy(l);
        body.getSpec().holderIdentity(null);
        body.getMetadata().getAnnotations().remove(INCARNATION);
        body.getMetadata().getAnnotations().put(Leases.RELEASED_BY, c.node);
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
    if (want && c.decider.canAcquire(now) && !c.view.aheadOfView(b)) {
      V1Lease body;
      if (l == null) {
        if (!b.virtual()) {
          // its Lease went away since this write was queued: a VIP without a Lease gets its
          // first owner only from a genesis Lease, never from a create racing one
          c.genesis.requestGenesis();
          return null;
        }
        body = newVipLease(v, c.node, wall, null);
        return new Op(k, OpKind.ACQUIRE, name, a -> a.create(body));
      }
      body = takeOver(l, wall);
      return new Op(k, OpKind.ACQUIRE, name, a -> a.replace(body));
    }
    if (!want && l == null && b.virtual() && c.collector.isGcNode(Genesis.NAME, now)) {
      // covered by the genesis Lease, its owner gone without heirs, wanted by nobody we know of:
      // write it as released, so the genesis Lease can be deleted
      V1Lease body = newVipLease(v, "", wall, null);
      return new Op(k, OpKind.RELEASE, name, a -> a.create(body));
    }
    if (!want
        && l != null
        && holder.isEmpty()
        && !c.view.covered(v)
        && c.collector.isGcNode(v, now)) {
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
  V1Lease takeOver(V1Lease l, OffsetDateTime wall) {
    V1Lease body = Leases.copy(l);
    int transitions =
        body.getSpec().getLeaseTransitions() == null ? 0 : body.getSpec().getLeaseTransitions();
    if (!c.node.equals(Leases.holder(l))) {
      transitions++;
    }
    body.getSpec()
        .holderIdentity(c.node)
        .acquireTime(wall)
        .renewTime(wall)
        .leaseDurationSeconds(c.leaseSeconds())
        .leaseTransitions(transitions);
    VipAddress vip = Leases.vipOf(l);
    body.getMetadata().getAnnotations().put(INCARNATION, c.liveness.incarnation);
    body.getMetadata().getAnnotations().put(Leases.PROTOCOL, Leases.PROTOCOL_VERSION);
    if (vip != null) {
      body.getMetadata().getAnnotations().put(Leases.VIP, vip.literal());
    }
    body.getMetadata().getAnnotations().remove(Leases.RELEASED_BY);
    return body;
  }

  boolean canHold(long now) {
    return !c.closing && c.liveness.ownValid(now);
  }

  V1Lease newVipLease(String v, String holder, OffsetDateTime wall, Integer transitions) {
    V1Lease body =
        Leases.newLease(c.config.namespace(), VipAddress.parse(v).leaseName(), Leases.KIND_VIP);
    body.getMetadata().getAnnotations().put(Leases.VIP, v);
    if (!holder.isEmpty()) {
      body.getMetadata().getAnnotations().put(INCARNATION, c.liveness.incarnation);
      body.getSpec().holderIdentity(holder).acquireTime(wall).renewTime(wall);
    }
    body.getSpec().leaseDurationSeconds(c.leaseSeconds()).leaseTransitions(transitions);
    return body;
  }

  Op planFence(Key k) {
    String x = k.id();
    long now = c.loop.nanoTime();
    Peer p = c.peers.peers.get(x);
    if (c.phase != ElectorCore.Phase.RUNNING
        || c.closing
        || p == null
        || !c.peers.lapsed(p, now)
        || p.fenced()
        || !p.sameProtocol()) {
      return null;
    }
    if (!c.liveness.apiHealthy(now)) {
      // Our own renewal is stuck: what looks like their silence may be the API server's.
      c.timers.arm(Timers.Job.FENCE_RETRY, c.config.retryInterval().toNanos(), c.decider::fullPass);
      return null;
    }
    String name = Leases.nodeLeaseName(x);
    if (c.view.readBeforeWrite.remove(name)) {
      return new Op(k, OpKind.READ, name, a -> a.get(name));
    }
    // The fence names the heirs of the fenced incarnation: its VIPs move with this one write.
    Map<String, String> heirs = new HashMap<>();
    for (Peer q : c.peers.eligiblePeers) {
      if (!q.node.equals(x) && q.incarnation() != null) {
        heirs.put(q.node, q.incarnation());
      }
    }
    if (c.liveness.ownValid(now) && c.healthy && !c.closing) {
      heirs.put(c.node, c.liveness.incarnation);
    }
    String fencedInc = p.incarnation();
    Map<String, Handoffs.Entry> entries = new LinkedHashMap<>(p.handoffs());
    if (fencedInc != null && !heirs.isEmpty()) {
      entries.putIfAbsent(fencedInc, new Handoffs.Entry(fencedInc, Map.copyOf(heirs)));
    }
    c.collector.prune(x, entries, fencedInc);
    if (p.present()) {
      V1Lease body = Leases.copy(p.lease);
      body.getMetadata().getAnnotations().put(Leases.FENCED_BY, c.node);
      Collector.putHandoffs(body, entries);
      return new Op(k, OpKind.FENCE, name, a -> a.replace(body));
    }
    V1Lease body = Leases.newLease(c.config.namespace(), name, Leases.KIND_NODE);
    body.getMetadata().getAnnotations().put(Leases.NODE, x);
    body.getMetadata().getAnnotations().put(Leases.FENCED_BY, c.node);
    if (fencedInc != null) {
      body.getMetadata().getAnnotations().put(INCARNATION, fencedInc);
    }
    Collector.putHandoffs(body, entries);
    body.getSpec().holderIdentity(x).leaseDurationSeconds(c.leaseSeconds());
    return new Op(k, OpKind.FENCE, name, a -> a.create(body));
  }

  void onOpDone(Op op, V1Lease result, ApiException error) {
    writes.finished(op.key());
    if (op.key().kind() == KeyKind.GENESIS) {
      c.genesis.onGenesisDone(op, result, error);
      pump();
      return;
    }
    if (op.key().kind() == KeyKind.NODE_GC) {
      c.collector.onNodeGcDone(op, error);
      pump();
      return;
    }
    long now = c.loop.nanoTime();
    if (error == null) {
      switch (op.kind()) {
        case GC -> {
          String v = op.key().id();
          log.info("releasedLeaseDeleted vip={}", v);
          V1Lease l = c.view.vips.remove(v);
          if (l != null) {
            c.view.tombstones.remove(v);
            c.decider.freeSince.remove(v);
          }
          c.decider.evaluate(v);
        }
        case FENCE -> {
          c.metrics.fences.inc();
          log.warn("nodeFenced node={} peer={}", c.node, op.key().id());
          if (c.view.versions.answered(Leases.name(result), Leases.resourceVersion(result))) {
            c.peers.applyNodeLease(result, now);
          }
        }
        default -> {
          if (op.kind() == OpKind.RELEASE) {
            c.metrics.releases.inc();
            ElectorCore.logVip(
                op.key().id(), () -> log.info("leaseReleased vip={}", op.key().id()));
          }
          if (result != null) {
            String name = Leases.name(result);
            boolean take = true;
            if (op.kind() == OpKind.READ) {
              c.view.versions.read(name, Leases.resourceVersion(result));
            } else {
              take = c.view.versions.answered(name, Leases.resourceVersion(result));
            }
            if (take && Leases.isNodeLease(result)) {
              c.peers.applyNodeLease(result, now);
            } else if (take) {
              c.view.applyVipLease(result, now, true);
            }
          }
        }
      }
    } else if (error.getCode() == 409) {
      c.metrics.conflicts.inc();
      log.debug("leaseConflict node={} lease={} op={}", c.node, op.leaseName(), op.kind());
      c.view.readBeforeWrite.add(op.leaseName());
      enqueue(op.key(), true);
    } else if (error.getCode() == 404) {
      if (op.key().fence()) {
        Peer p = c.peers.peers.get(op.key().id());
        if (p != null && p.present()) {
          c.peers.removeNode(p.node, now);
        }
      } else {
        c.view.removeVip(op.key().id(), false);
      }
      if (op.key().fence()) {
        c.decider.fullPass();
      } else {
        c.decider.evaluate(op.key().id());
      }
    } else {
      c.metrics.apiErrors.inc();
      log.warn(
          "leaseWriteFailed node={} lease={} op={} code={} error={}",
          c.node,
          op.leaseName(),
          op.kind(),
          error.getCode(),
          ElectorCore.shortError(error));
      if (op.key().fence()) {
        c.loop.schedule(c.decider::fullPass, c.config.retryInterval().toNanos());
      } else {
        String v = op.key().id();
        c.loop.schedule(
            () -> {
              c.decider.evaluate(v);
              pump();
            },
            c.config.retryInterval().toNanos());
      }
    }
    if (!op.key().fence() && error == null) {
      c.decider.evaluate(
          op.key().id()); // events for this VIP that arrived meanwhile were not acted on
    }
    pump();
  }
}
