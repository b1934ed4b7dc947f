package dev.vipgress.election;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The elector's Lease writes waiting and in flight, in three lanes: urgent (fences, releases,
 * conflicts to re-read), normal (acquisitions, garbage collection) and adoption (rewriting
 * inherited VIP Leases in this node's name: tidying, a few at a time). A key is queued at most
 * once; queued again in a faster lane it moves up (a release must not wait behind the throttled
 * adoption it was queued as). Loop-confined.
 *
 * <p>Concurrency: at most {@link #concurrency()} urgent and normal writes in flight (adoptions in
 * flight do not count against them), and adoptions only while fewer than that are in flight in all
 * and at most a quarter of it are adoptions. The limit is {@code apiConcurrency}, halved whenever a
 * liveness renewal is slow and grown back by one while they are quick, so bulk work (cold start,
 * adoption) never starves the renewals that keep this node's VIPs.
 *
 * @param <K> what a write is about
 */
final class WriteQueue<K> {
  /** Write lanes, most urgent first. */
  enum Lane {
    URGENT,
    NORMAL,
    ADOPT
  }

  private final int maxConcurrency;
  private int concurrency;
  private final Map<K, Lane> queued = new HashMap<>();
  private final Map<Lane, ArrayDeque<K>> lanes = new HashMap<>();
  private final Map<K, Boolean> inflight = new HashMap<>();
  private int adoptionsInFlight;

  WriteQueue(int maxConcurrency) {
    this.maxConcurrency = maxConcurrency;
    this.concurrency = maxConcurrency;
    for (Lane l : Lane.values()) {
      lanes.put(l, new ArrayDeque<>());
    }
  }

  /** Queues {@code k} in {@code lane} unless it is in flight or already queued as fast. */
  void add(K k, Lane lane) {
    Lane current = queued.get(k);
    if (inflight.containsKey(k) || (current != null && current.compareTo(lane) <= 0)) {
      return;
    }
    queued.put(k, lane);
    lanes.get(lane).add(k);
  }

  /** The next key that may start now, or null; the caller then calls {@link #started} or not. */
  K next() {
    K k = null;
    if (inflight.size() - adoptionsInFlight < concurrency) {
      k = poll(Lane.URGENT);
      if (k == null) {
        k = poll(Lane.NORMAL);
      }
    }
    int adoptLimit = Math.max(1, concurrency / 4);
    if (k == null && inflight.size() < concurrency && adoptionsInFlight < adoptLimit) {
      k = poll(Lane.ADOPT);
    }
    return k;
  }

  /** A write of {@code k} was sent; {@code adoption} if it rewrites an inherited Lease. */
  void started(K k, boolean adoption) {
    inflight.put(k, adoption);
    if (adoption) {
      adoptionsInFlight++;
    }
  }

  /** The write of {@code k} was answered. */
  void finished(K k) {
    Boolean adoption = inflight.remove(k);
    if (adoption != null && adoption) {
      adoptionsInFlight--;
    }
  }

  boolean idle() {
    return inflight.isEmpty();
  }

  int concurrency() {
    return concurrency;
  }

  /** A liveness renewal took {@code rtt} of a {@code renewInterval}: adapt the concurrency. */
  void renewalTook(long rttNanos, long renewIntervalNanos) {
    if (rttNanos > renewIntervalNanos / 5) {
      concurrency = Math.max(1, concurrency / 2);
    } else if (rttNanos < renewIntervalNanos / 20 && concurrency < maxConcurrency) {
      concurrency++;
    }
  }

  /** A liveness renewal failed: one write at a time until renewals are quick again. */
  void renewalFailed() {
    concurrency = 1;
  }

  /** The next key of {@code lane}, skipping entries of keys that moved to a faster lane. */
  private K poll(Lane lane) {
    ArrayDeque<K> deque = lanes.get(lane);
    K k;
    while ((k = deque.poll()) != null) {
      if (queued.get(k) == lane) {
        queued.remove(k);
        return k;
      }
    }
    return null;
  }
}
