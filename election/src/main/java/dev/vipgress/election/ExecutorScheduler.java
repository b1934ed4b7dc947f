package dev.vipgress.election;

import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real {@link Scheduler}: one platform thread and {@link System#nanoTime()}, with two queues so
 * that priority tasks overtake a backlog of ordinary ones.
 */
public final class ExecutorScheduler implements Scheduler, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ExecutorScheduler.class);

  private record Timer(long at, long seq, Runnable task, boolean priority) {}

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final PriorityQueue<Timer> timers =
      new PriorityQueue<>(
          (a, b) ->
              a.at() != b.at() ? Long.compare(a.at(), b.at()) : Long.compare(a.seq(), b.seq()));
  private final ArrayDeque<Runnable> urgent = new ArrayDeque<>();
  private final ArrayDeque<Runnable> normal = new ArrayDeque<>();
  private final Thread thread;
  private long seq;
  private boolean closed;

  /** Starts the loop thread {@code name} (a daemon thread). */
  public ExecutorScheduler(String name) {
    thread = Thread.ofPlatform().daemon().name(name).unstarted(this::run);
    thread.start();
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void execute(Runnable task) {
    add(task, 0, false);
  }

  @Override
  public void executePriority(Runnable task) {
    add(task, 0, true);
  }

  @Override
  public void schedule(Runnable task, long delayNanos) {
    add(task, delayNanos, false);
  }

  @Override
  public void schedulePriority(Runnable task, long delayNanos) {
    add(task, delayNanos, true);
  }

  private void add(Runnable task, long delayNanos, boolean priority) {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      if (delayNanos <= 0) {
        (priority ? urgent : normal).add(task);
      } else {
        timers.add(new Timer(System.nanoTime() + delayNanos, seq++, task, priority));
      }
      changed.signal();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      timers.clear();
      urgent.clear();
      normal.clear();
      changed.signal();
    } finally {
      lock.unlock();
    }
  }

  private void run() {
    while (true) {
      Runnable task;
      lock.lock();
      try {
        while (true) {
          if (closed) {
            return;
          }
          long now = System.nanoTime();
          while (!timers.isEmpty() && timers.peek().at() - now <= 0) {
            Timer t = timers.poll();
            (t.priority() ? urgent : normal).add(t.task());
          }
          task = !urgent.isEmpty() ? urgent.poll() : normal.poll();
          if (task != null) {
            break;
          }
          long wait = timers.isEmpty() ? TimeUnit.SECONDS.toNanos(1) : timers.peek().at() - now;
          changed.awaitNanos(wait);
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        log.error("election loop task failed", e);
      }
    }
  }
}
