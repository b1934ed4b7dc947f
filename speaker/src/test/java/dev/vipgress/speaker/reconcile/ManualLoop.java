package dev.vipgress.speaker.reconcile;

import dev.vipgress.election.Scheduler;
import java.time.Duration;
import java.util.PriorityQueue;

/**
 * A manual clock and task queue for unit tests: everything runs on the test thread, in order, and
 * time moves only in {@link #run} / {@link #advance}.
 */
public final class ManualLoop implements Scheduler {
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

  /** Everything runs on the test thread: nothing may wait for the loop. */
  @Override
  public boolean inLoop() {
    return true;
  }

  /** Runs every task due now (and those they queue for now); the clock stays. */
  public void run() {
    advance(Duration.ZERO);
  }

  /** Runs tasks in time order up to {@code now + d}; the clock ends at {@code now + d}. */
  public void advance(Duration d) {
    long target = now + d.toNanos();
    while (!tasks.isEmpty() && tasks.peek().at() <= target) {
      Task t = tasks.poll();
      now = Math.max(now, t.at());
      t.run().run();
    }
    now = target;
  }
}
