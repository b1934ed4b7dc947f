package dev.vipgress.election;

import java.util.concurrent.Executor;

/**
 * The elector's single event loop and its clock. Everything that changes the elector's state runs
 * as a task here, one at a time, so that state needs no locks; timers are tasks with a delay. Tests
 * substitute a manual clock.
 */
interface Scheduler extends Executor {

  /** Monotonic time in nanoseconds, in the same base as {@link System#nanoTime()}. */
  long nanoTime();

  /** Runs {@code task} on the loop after {@code delayNanos}. */
  void schedule(Runnable task, long delayNanos);

  /** Whether the calling thread is the loop. */
  boolean inLoop();
}
