package dev.vipgress.election;

import java.util.HashMap;
import java.util.Map;

/**
 * Keyed timers on the elector's loop: at most one pending timer per key. Arming a key that is
 * already due no later is a no-op; arming it earlier replaces the pending timer (the superseded one
 * does nothing when it fires). Replaces one "posted" flag per periodic job. Loop-confined.
 */
final class Timers {
  /** The elector's jobs that run at most once at a time. */
  enum Job {
    FULL_PASS,
    FLUSH_LOSSES,
    GENESIS_CHECK,
    GENESIS_WAKE,
    FENCE_RETRY,
    REBALANCE,
    NODE_GC
  }

  /** A timer that re-evaluates one VIP. */
  record Wake(String vip) {}

  private record Pending(long due, long id) {}

  private final Scheduler loop;
  private final Map<Object, Pending> pending = new HashMap<>();
  private long ids;

  Timers(Scheduler loop) {
    this.loop = loop;
  }

  /** Runs {@code task} on the loop after {@code delayNanos} unless {@code key} is due no later. */
  void arm(Object key, long delayNanos, Runnable task) {
    long delay = Math.max(0, delayNanos);
    long due = loop.nanoTime() + delay;
    Pending p = pending.get(key);
    if (p != null && p.due() - due <= 0) {
      return;
    }
    long id = ++ids;
    pending.put(key, new Pending(due, id));
    Runnable run =
        () -> {
          Pending current = pending.get(key);
          if (current != null && current.id() == id) {
            pending.remove(key);
            task.run();
          }
        };
    if (delay == 0) {
      loop.execute(run);
    } else {
      loop.schedule(run, delay);
    }
  }

  /** Whether a timer for {@code key} is pending. */
  boolean armed(Object key) {
    return pending.containsKey(key);
  }

  /** Drops the pending timer for {@code key}, if any. */
  void cancel(Object key) {
    pending.remove(key);
  }
}
