package dev.vipgress.election;

import static dev.vipgress.election.Leases.INCARNATION;

import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The observed Lease cache: every VIP Lease as last seen (from the watch, a list, or a response or
 * read the view takes), the tombstones of deleted ones, and which version the view takes ({@link
 * LeaseVersions}). Dispatches liveness and genesis Leases to {@link PeerTable} and {@link
 * GenesisFlow}. Loop-confined.
 */
final class LeaseView {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  LeaseView(ElectorCore c) {
    this.c = c;
  }

  record Tombstone(String holder, String incarnation) {}

  /** Where a VIP's holder comes from: its Lease, the tombstone of a deleted one, or the genesis. */
  record Basis(V1Lease lease, String holder, String incarnation, boolean virtual) {}

  final Map<String, V1Lease> vips = new HashMap<>();

  final LeaseVersions versions = new LeaseVersions();

  final Map<String, Tombstone> tombstones = new HashMap<>();

  final Set<String> readBeforeWrite = new HashSet<>();

  void applySnapshot(List<V1Lease> leases) {
    long now = c.loop.nanoTime();
    c.peers.resynced(now);
    Set<String> seenVips = new HashSet<>();
    Set<String> seenNodes = new HashSet<>();
    for (V1Lease l : leases) {
      if (Leases.isNodeLease(l)) {
        seenNodes.add(Leases.nodeOf(l));
        // a liveness Lease the list shows older than a fence we wrote only delays a takeover
        versions.forget(Leases.name(l));
        c.peers.applyNodeLease(l, now);
        c.liveness.ownVersionSeen(l);
      }
    }
    for (V1Lease l : leases) {
      if (Leases.isVipLease(l)) {
        VipAddress vip = Leases.vipOf(l);
        if (vip != null) {
          seenVips.add(vip.literal());
          if (versions.listed(Leases.name(l), Leases.resourceVersion(l))
              == LeaseVersions.Listed.TAKE) {
            applyVipLease(l, now, false);
          } else {
            readAgain(vip.literal());
          }
        }
      }
    }
    for (String v : new ArrayList<>(vips.keySet())) {
      if (!seenVips.contains(v)) {
        if (versions.listed(VipAddress.parse(v).leaseName(), null) == LeaseVersions.Listed.TAKE) {
          removeVip(v, false);
        } else {
          readAgain(v);
        }
      }
    }
    V1Lease g = leases.stream().filter(Genesis::isGenesisLease).findFirst().orElse(null);
    versions.forget(Genesis.NAME);
    c.genesis.genesisAwaited = null; // a list is one consistent cut: what it lacks is written again
    if (g != null) {
      c.genesis.genesisWatched(g);
    }
    if (g != null) {
      c.genesis.applyGenesis(g, now);
    } else {
      c.genesis.removeGenesis();
    }
    for (Peer p : c.peers.peers.values()) {
      if (p.lease != null && !seenNodes.contains(p.node)) {
        p.referencedIncarnation = p.incarnation();
        p.lease = null;
        p.changedAt = now;
      }
    }
    log.debug("leaseSnapshot node={} leases={}", c.node, leases.size());
    c.peers.refreshPeers(now);
    c.decider.fullPass();
    if (c.phase == ElectorCore.Phase.SYNCING) {
      c.liveness.startClaim();
    }
  }

  void applyEvent(String type, V1Lease l) {
    long now = c.loop.nanoTime();
    boolean deleted = "DELETED".equals(type);
    if (!versions.watched(Leases.name(l), Leases.resourceVersion(l))) {
      return; // precedes a version this node already took from a response
    }
    if (Leases.isNodeLease(l)) {
      if (deleted) {
        c.peers.removeNode(Leases.nodeOf(l), now);
      } else {
        c.peers.applyNodeLease(l, now);
        c.liveness.ownVersionSeen(l);
      }
    } else if (Genesis.isGenesisLease(l)) {
      c.genesis.genesisWatched(l);
      if (deleted) {
        c.genesis.removeGenesis();
      } else {
        c.genesis.applyGenesis(l, now);
      }
    } else if (Leases.isVipLease(l)) {
      VipAddress vip = Leases.vipOf(l);
      if (vip == null) {
        return;
      }
      if (deleted) {
        removeVip(vip.literal(), true);
      } else {
        applyVipLease(l, now, true);
      }
    }
    c.writer.pump();
  }

  /** A version of a VIP Lease seen from the watch or a response; older versions are ignored. */
  void applyVipLease(V1Lease l, long now, boolean evaluate) {
    VipAddress vip = Leases.vipOf(l);
    if (vip == null) {
      return;
    }
    String v = vip.literal();
    V1Lease old = vips.get(v);
    String h = Leases.holder(l);
    if (!h.isEmpty()
        && !h.equals(c.node)
        && (old == null
            || !h.equals(Leases.holder(old))
            || !Objects.equals(
                Leases.annotation(old, INCARNATION), Leases.annotation(l, INCARNATION)))) {
      c.peers.peer(h, now).lastProgress = now;
    }
    vips.put(v, l);
    tombstones.remove(v);
    c.metrics.knownVips = vips.size();
    if (evaluate) {
      c.decider.evaluate(v);
    }
  }

  void removeVip(String v, boolean evaluate) {
    V1Lease old = vips.get(v);
    versions.forget(VipAddress.parse(v).leaseName());
    if (old == null) {
      return;
    }
    vips.remove(v);
    c.metrics.knownVips = vips.size();
    String h = Leases.holder(old);
    if (!h.isEmpty()) {
      tombstones.put(v, new Tombstone(h, Leases.annotation(old, INCARNATION)));
    } else {
      tombstones.remove(v);
    }
    ElectorCore.logVip(
        v, () -> log.info("leaseDeleted vip={} lastHolder={}", v, h.isEmpty() ? "-" : h));
    if (evaluate) {
      c.decider.evaluate(v);
    }
  }

  /**
   * The holder a VIP's state starts from: its Lease; else the tombstone of its deleted Lease; else
   * the genesis Lease covering it (a virtual Lease); else nobody.
   */
  Basis basis(String v) {
    V1Lease l = vips.get(v);
    if (l != null) {
      return new Basis(l, Leases.holder(l), Leases.annotation(l, INCARNATION), false);
    }
    Tombstone t = tombstones.get(v);
    if (t != null) {
      return new Basis(null, t.holder(), t.incarnation(), false);
    }
    if (c.genesis.genesis != null && c.genesis.genesis.covers(v)) {
      String[] h = c.genesis.genesis.holderOf(v);
      return new Basis(null, h[0], h[1], true);
    }
    return new Basis(null, "", null, false);
  }

  boolean covered(String v) {
    return c.genesis.genesis != null && c.genesis.genesis.covers(v);
  }

  /**
   * Whether {@code b} is a VIP Lease held by a peer in a version the watch has not delivered yet (a
   * read after a 409 or an ambiguous re-list). It may be newer than the view of the liveness
   * Leases: an incarnation the view does not know yet looks ended, so it is not judged free until
   * the watch has delivered it (and with it every liveness Lease committed before).
   */
  boolean aheadOfView(Basis b) {
    return b.lease() != null
        && !b.holder().isEmpty()
        && !b.holder().equals(c.node)
        && versions.ahead(Leases.name(b.lease()));
  }

  String holderOf(String v) {
    V1Lease l = vips.get(v);
    return l == null ? "" : Leases.holder(l);
  }

  /** The view cannot tell whether a re-list or its own write is newer: read the Lease again. */
  void readAgain(String v) {
    readBeforeWrite.add(VipAddress.parse(v).leaseName());
    c.writer.enqueue(LeaseWriter.Key.vip(v), true);
  }
}
