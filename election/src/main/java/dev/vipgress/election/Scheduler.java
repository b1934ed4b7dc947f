package dev.vipgress.election;

import java.util.concurrent.Executor;

/**
 * The elector's single event loop and its clock. Everything that changes the elector's state runs
 * as a task here, one at a time, so that state needs no locks; timers are tasks with a delay. Tests
 * substitute a manual clock.
 *
 * <p>Priority tasks (the liveness renewal and its result, the deadline check) run before ordinary
 * ones that are already queued: a backlog of watch events during a bulk change must not delay the
 * one write that keeps this node's VIPs.
 */
public interface Scheduler extends Executor {

  /** Monotonic time in nanoseconds, in the same base as {@link System#nanoTime()}. */
  long nanoTime();

  /** Runs {@code task} on the loop after {@code delayNanos}. */
  void schedule(Runnable task, long delayNanos);

  /** Runs {@code task} on the loop as soon as possible, ahead of queued ordinary tasks. */
  default void executePriority(Runnable task) {
    execute(task);
  }

  /** Runs {@code task} on the loop after {@code delayNanos}, ahead of queued ordinary tasks. */
  default void schedulePriority(Runnable task, long delayNanos) {
    schedule(task, delayNanos);
  }

  /** Whether the calling thread is the loop. */
  boolean inLoop();
}
