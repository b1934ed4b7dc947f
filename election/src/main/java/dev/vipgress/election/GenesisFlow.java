package dev.vipgress.election;

import dev.vipgress.election.OwnershipResolver.HolderState;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The genesis Lease ({@link Genesis}): when to write one for the VIPs without a Lease, following
 * the one in the view, deleting it once every covered VIP has a Lease, and releasing covered VIPs
 * nobody wants. A genesis Lease is taken into the view only from the watch or a list, never from a
 * response. Loop-confined.
 */
final class GenesisFlow {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  GenesisFlow(ElectorCore c) {
    this.c = c;
  }

  static final LeaseWriter.Key GENESIS_KEY =
      new LeaseWriter.Key(LeaseWriter.KeyKind.GENESIS, Genesis.NAME);

  V1Lease genesisLease;

  Genesis genesis;

  long genesisSince;

  /**
   * Uid of a genesis Lease this node learnt of from a response (its create, or a read after a 409)
   * and waits to see from the watch: until then no other is written.
   */
  String genesisAwaited;

  final Set<String> genesisUidsWatched = new LinkedHashSet<>();

  long genesisDueAt = Long.MIN_VALUE;

  void applyGenesis(V1Lease l, long now) {
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
            .addKeyValue("node", c.node)
            .addKeyValue("protocol", Leases.annotation(l, Leases.PROTOCOL))
            .log("genesisOfAnotherProtocol: not followed; left to the nodes of that version");
      } else if (genesis == null) {
        log.warn(
            "genesisMalformed node={} lease={}: unusable annotations; it will be deleted",
            c.node,
            Genesis.NAME);
      } else {
        log.info(
            "genesisSeen node={} members={} ranges={}",
            c.node,
            genesis.members().heirs().keySet(),
            genesis.ranges().size());
      }
    }
    scheduleGenesisCheck();
    c.decider.fullPass();
  }

  /** The watch (or a list) delivered this genesis Lease: it is not awaited any more. */
  void genesisWatched(V1Lease l) {
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

  void removeGenesis() {
    if (genesisLease == null) {
      return;
    }
    Genesis before = genesis;
    genesisLease = null;
    genesis = null;
    log.info("genesisDeleted node={}", c.node);
    if (before != null) {
      before.forEachVip(c.decider::evaluate);
    }
    c.decider.fullPass();
  }

  /** While a genesis Lease exists: delete it once done, tidy VIPs nobody materialises. */
  void scheduleGenesisCheck() {
    c.timers.arm(
        Timers.Job.GENESIS_CHECK,
        c.config.renewInterval().toNanos(),
        () -> {
          if (genesisLease == null || c.phase == ElectorCore.Phase.CLOSED) {
            return;
          }
          checkGenesis();
          c.writer.pump();
          scheduleGenesisCheck();
        });
  }

  void checkGenesis() {
    long now = c.loop.nanoTime();
    if (c.phase != ElectorCore.Phase.RUNNING
        || c.closing
        || !c.collector.isGcNode(Genesis.NAME, now)) {
      return;
    }
    if (genesisDone()) {
      c.writer.enqueue(GENESIS_KEY, false); // delete it
      return;
    }
    if (now - genesisSince - c.config.placementFallback().toNanos() < 0) {
      return;
    }
    genesis.forEachVip(
        v -> {
          LeaseView.Basis b = c.view.basis(v);
          if (b.virtual()
              && !c.candidacy.contains(v)
              && c.decider.resolve(v, b.holder(), b.incarnation(), now).state()
                  == HolderState.FREE) {
            c.writer.enqueue(
                LeaseWriter.Key.vip(v), false); // nobody we know wants it: write it as released
          }
        });
  }

  /** Whether the genesis Lease has served: each VIP it covers has a Lease (or it is malformed). */
  boolean genesisDone() {
    if (genesis == null) {
      // malformed: done; another protocol version's: left to the nodes of that version
      return genesisLease == null || Leases.sameProtocol(genesisLease);
    }
    boolean[] done = {true};
    genesis.forEachVip(
        v -> {
          if (!c.view.vips.containsKey(v)) {
            done[0] = false;
          }
        });
    return done[0];
  }

  /**
   * Asks for a genesis Lease for the VIPs that have no Lease; waits while another one exists. The
   * first node in rendezvous order for the genesis writes it at once, the others one placement
   * stagger per rank later (if it is still missing); and nobody writes it while a live eligible
   * peer still publishes another candidacy, for up to one renewal after our own candidacy changed,
   * so peers that learn of a new VIP a moment later are still members.
   */
  void requestGenesis() {
    if (genesisLease != null || genesisAwaited != null) {
      return;
    }
    long now = c.loop.nanoTime();
    long hash = Placement.hash(Genesis.NAME);
    int rank = 0;
    boolean settled = true;
    for (Peer p : c.peers.eligiblePeers) {
      if (!c.candidacyStamp.equals(p.candidacy())) {
        settled = false;
      } else if (Placement.before(hash, p.node, c.node, null)) {
        rank++;
      }
    }
    if (genesisDueAt == Long.MIN_VALUE) {
      genesisDueAt = now + rank * c.config.placementStagger().toNanos();
    }
    long due = genesisDueAt;
    long settleBy = c.candidacyChangedAt + c.config.renewInterval().toNanos() + c.durationNanos / 4;
    if (!settled && settleBy - due > 0) {
      due = settleBy;
    }
    if (due - now <= 0) {
      c.writer.enqueue(GENESIS_KEY, false);
      return;
    }
    c.timers.arm(
        Timers.Job.GENESIS_WAKE,
        due - now,
        () -> {
          if (genesisLease == null) {
            c.decider.fullPass(); // VIPs without a Lease ask again, now as the due time has come
          }
        });
  }

  /**
   * Creates the genesis Lease for every VIP of our candidacy that has no Lease (members: this node
   * and the live eligible peers competing for the same VIPs), or deletes it once every VIP it
   * covers has its own Lease.
   */
  LeaseWriter.Op planGenesis(LeaseWriter.Key k) {
    long now = c.loop.nanoTime();
    if (c.phase != ElectorCore.Phase.RUNNING || c.closing) {
      return null;
    }
    if (c.view.readBeforeWrite.remove(Genesis.NAME)) {
      return new LeaseWriter.Op(k, LeaseWriter.OpKind.READ, Genesis.NAME, a -> a.get(Genesis.NAME));
    }
    if (genesisLease != null) {
      if (!c.collector.isGcNode(Genesis.NAME, now) || !genesisDone()) {
        return null;
      }
      String rv = Leases.resourceVersion(genesisLease);
      return new LeaseWriter.Op(
          k,
          LeaseWriter.OpKind.GENESIS_DELETE,
          Genesis.NAME,
          a -> {
            a.delete(Genesis.NAME, rv);
            return null;
          });
    }
    if (!c.decider.canAcquire(now) || genesisAwaited != null) {
      return null;
    }
    List<String> free = new ArrayList<>();
    for (String v : c.candidacy) {
      if (c.view.vips.containsKey(v)) {
        continue;
      }
      LeaseView.Basis b = c.view.basis(v);
      if (c.decider.resolve(v, b.holder(), b.incarnation(), now).state() == HolderState.FREE) {
        free.add(v);
      }
    }
    if (free.isEmpty()) {
      return null;
    }
    Map<String, String> members = new HashMap<>();
    members.put(c.node, c.liveness.incarnation);
    for (Peer p : c.peers.eligiblePeers) {
      if (p.incarnation() != null && c.candidacyStamp.equals(p.candidacy())) {
        members.put(p.node, p.incarnation());
      }
    }
    V1Lease body = Genesis.newLease(c.config.namespace(), c.node, free, members, c.leaseSeconds());
    log.info("genesisCreating node={} vips={} members={}", c.node, free.size(), members.keySet());
    return new LeaseWriter.Op(k, LeaseWriter.OpKind.GENESIS, Genesis.NAME, a -> a.create(body));
  }

  /**
   * A genesis Lease from a response (this node's create, or a read) is never taken into the view:
   * VIP Leases committed before it may not have reached the view yet, and a covered VIP without a
   * Lease in the view would resolve to a genesis member while its real Lease names a live holder.
   * The watch delivers it after everything committed before it; until then no other is written.
   */
  void awaitGenesis(V1Lease result, long now) {
    String uid = Leases.uid(result);
    if (genesisLease != null && Objects.equals(Leases.uid(genesisLease), uid)) {
      applyGenesis(result, now); // the one in the view, read again (after a 409 on its delete)
    } else if (uid != null && !genesisUidsWatched.contains(uid)) {
      genesisAwaited = uid;
    }
  }

  void onGenesisDone(LeaseWriter.Op op, V1Lease result, ApiException error) {
    long now = c.loop.nanoTime();
    if (error == null) {
      if (result != null) {
        awaitGenesis(result, now);
      } else if (op.kind() == LeaseWriter.OpKind.GENESIS_DELETE) {
        removeGenesis();
      }
    } else if (error.getCode() == 409) {
      c.metrics.conflicts.inc();
      c.view.readBeforeWrite.add(Genesis.NAME);
      c.writer.enqueue(GENESIS_KEY, true);
    } else if (error.getCode() == 404) {
      removeGenesis();
    } else {
      c.metrics.apiErrors.inc();
      log.warn(
          "genesisWriteFailed node={} op={} code={} error={}",
          c.node,
          op.kind(),
          error.getCode(),
          ElectorCore.shortError(error));
      c.loop.schedule(c.decider::fullPass, c.config.retryInterval().toNanos());
    }
  }
}
