package dev.vipgress.election;

import java.time.Duration;
import java.util.PriorityQueue;

/**
 * A manual clock and task queue shared by every elector, API server and watch of a test: the whole
 * cluster runs on one thread, deterministically. Time moves only in {@link #advance}.
 */
final class FakeScheduler implements Scheduler {
  private record Task(long at, long seq, Runnable run) {}

  private final PriorityQueue<Task> tasks =
      new PriorityQueue<>(
          (a, b) ->
              a.at() != b.at() ? Long.compare(a.at(), b.at()) : Long.compare(a.seq(), b.seq()));
  private long now = 5_000_000_000L;
  private long seq;

  @Override
  public long nanoTime() {
    return now;
  }

  @Override
  public void execute(Runnable task) {
    tasks.add(new Task(now, seq++, task));
  }

  @Override
  public void schedule(Runnable task, long delayNanos) {
    tasks.add(new Task(now + Math.max(0, delayNanos), seq++, task));
  }

  /** Everything runs on the test thread: {@code close()} must not wait for the loop. */
  @Override
  public boolean inLoop() {
    return true;
  }

  /** The most tasks due at one future instant (duplicate timers pile up there). */
  long mostTasksAtOneInstant() {
    java.util.Map<Long, Long> at = new java.util.HashMap<>();
    for (Task t : tasks) {
      if (t.at() > now) {
        at.merge(t.at(), 1L, Long::sum);
      }
    }
    return at.values().stream().mapToLong(Long::longValue).max().orElse(0);
  }

  void advance(Duration d) {
    long target = now + d.toNanos();
    while (!tasks.isEmpty() && tasks.peek().at() <= target) {
      Task t = tasks.poll();
      now = Math.max(now, t.at());
      t.run().run();
    }
    now = target;
  }

  void advanceMillis(long ms) {
    advance(Duration.ofMillis(ms));
  }

  /** Advances in small steps until {@code condition} holds; fails after {@code max}. */
  long advanceUntil(java.util.function.BooleanSupplier condition, Duration max) {
    long start = now;
    long end = now + max.toNanos();
    while (!condition.getAsBoolean()) {
      if (now >= end) {
        throw new AssertionError("condition not met within " + max);
      }
      advance(Duration.ofMillis(1));
    }
    return now - start;
  }
}
