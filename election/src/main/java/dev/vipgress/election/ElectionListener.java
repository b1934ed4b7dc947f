package dev.vipgress.election;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What a {@link LeaseElector} tells the daemon. All methods are called on one event thread of the
 * elector, in order, never while the elector holds a lock; they must not block (enqueue and
 * return). VIPs are canonical literals ({@link VipAddress#literal()}).
 *
 * <p>Deadlines are {@link System#nanoTime()} values: the owner must stop announcing and SNATing to
 * the VIP by then unless a later {@link #renewed} extended it. Losses arrive in batches through
 * {@link #lostAll}; a release that lets a peer take a lost VIP (shutdown, unhealthy, candidacy
 * withdrawn, rebalancing) is written only once its returned stage has completed, or at the latest
 * at the fencing deadline last given for those VIPs (the {@code lost()} barrier).
 */
public interface ElectionListener {

  /** This node now owns {@code vip} until {@code fencingDeadlineNanos} unless renewed. */
  void acquired(String vip, long fencingDeadlineNanos);

  /** The deadline of an owned VIP moved to {@code fencingDeadlineNanos}. */
  void renewed(String vip, long fencingDeadlineNanos);

  /**
   * One liveness renewal extended the deadline of all these owned VIPs at once. The default calls
   * {@link #renewed(String, long)} for each; override to handle the whole set in one step.
   */
  default void renewedAll(Set<String> vips, long fencingDeadlineNanos) {
    for (String vip : vips) {
      renewed(vip, fencingDeadlineNanos);
    }
  }

  /** This node no longer owns {@code vip}: stop announcing and SNATing to it at once. */
  void lost(String vip);

  /** {@link #lost(String)} with the reason; the elector calls this one, the default delegates. */
  default void lost(String vip, LossReason reason) {
    lost(vip);
  }

  /** The owner of {@code vip} as this node sees it changed; empty while nobody owns it. */
  void ownerChanged(String vip, Optional<String> node);

  /**
   * This node no longer owns any of {@code vips}, for one reason; the elector calls this, not
   * {@code lost}. The returned stage completes once the node has actually stopped announcing and
   * SNATing to every one of them; the elector writes a release that lets a peer take them over only
   * after it completed (the {@code lost()} barrier). It does not wait past the last fencing
   * deadline given for these VIPs: the datapath must have stopped by then anyway (its kernel state
   * expires on its own), and a peer could fence this node from then on. Called on the events
   * thread; must not block. The default calls {@link #lost(String, LossReason)} for each and
   * completes at once (for listeners whose {@code lost} acts synchronously).
   */
  default CompletionStage<Void> lostAll(Set<String> vips, LossReason reason) {
    for (String vip : vips) {
      lost(vip, reason);
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Why a VIP was lost; also the label of the loss counter. */
  enum LossReason {
    /** No liveness renewal succeeded before the fencing deadline (API server unreachable). */
    DEADLINE,
    /** A peer fenced this node's liveness Lease (it saw no renewal for a lease duration). */
    FENCED,
    /** Another process wrote this node's liveness Lease (two electors with one node name). */
    SUPERSEDED,
    /** {@link LeaseElector#setHealthy} false: the data path cannot serve. */
    UNHEALTHY,
    /** The VIP left this node's candidacy. */
    CANDIDACY,
    /** Another node holds the VIP Lease (for example after it was deleted and re-created). */
    TAKEN,
    /** {@link LeaseElector#close()}. */
    SHUTDOWN,
    /** Opt-in rebalancing handed the VIP to a node below its share. */
    REBALANCED
  }
}
