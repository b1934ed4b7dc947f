package dev.vipgress.speaker.bgp.fsm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A clock that moves only when the test says so; due tasks run in deadline order. */
final class FakeTicker implements Ticker {
  private final List<Task> tasks = new ArrayList<>();
  private long now;
  private long seq;

  private final class Task implements Scheduled {
    final long deadline;
    final long order = seq++;
    final Runnable run;

    Task(long deadline, Runnable run) {
      this.deadline = deadline;
      this.run = run;
    }

    @Override
    public void cancel() {
      tasks.remove(this);
    }
  }

  @Override
  public Scheduled schedule(Duration delay, Runnable task) {
    Task t = new Task(now + delay.toNanos(), task);
    tasks.add(t);
    return t;
  }

  @Override
  public long nanoTime() {
    return now;
  }

  void advance(Duration d) {
    long target = now + d.toNanos();
    while (true) {
      Task next =
          tasks.stream()
              .filter(t -> t.deadline <= target)
              .min(Comparator.<Task>comparingLong(t -> t.deadline).thenComparingLong(t -> t.order))
              .orElse(null);
      if (next == null) {
        break;
      }
      tasks.remove(next);
      now = next.deadline;
      next.run.run();
    }
    now = target;
  }

  void advanceSeconds(long s) {
    advance(Duration.ofSeconds(s));
  }

  int pending() {
    return tasks.size();
  }
}
