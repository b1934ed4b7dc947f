package dev.vipgress.sim;

import dev.vipgress.election.Scheduler;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * One run of the daemon on a {@link Machine}: its threads are executors on the {@link World}, all
 * stopped at once by a crash and held by a freeze (SIGSTOP, or a stop-the-world GC pause). Every
 * task is an event with a seeded delay, so interleavings between threads and nodes vary by seed.
 */
final class SimProcess {
  final Machine machine;
  final World world;
  final int generation;
  private boolean alive = true;
  private boolean frozen;
  private final List<Runnable> held = new ArrayList<>();

  SimProcess(Machine machine, int generation) {
    this.machine = machine;
    this.world = machine.world;
    this.generation = generation;
  }

  boolean alive() {
    return alive;
  }

  /** Running: alive and not frozen (answers ARP, runs its threads). */
  boolean running() {
    return alive && !frozen;
  }

  void kill() {
    alive = false;
    held.clear();
  }

  void freeze() {
    frozen = true;
  }

  void thaw() {
    if (!frozen) {
      return;
    }
    frozen = false;
    world.dirty = true;
    List<Runnable> h = new ArrayList<>(held);
    held.clear();
    for (Runnable r : h) {
      world.after(world.micros(0, 50), machine.name + " thawed task", () -> runNow(r));
    }
  }

  /** Runs {@code r} as this process after {@code delayNanos} of simulated time. */
  void post(long delayNanos, String what, Runnable r) {
    world.after(delayNanos, what, () -> runNow(r));
  }

  private void runNow(Runnable r) {
    if (!alive) {
      return;
    }
    if (frozen) {
      held.add(r);
      return;
    }
    Object was = world.context;
    try {
      r.run();
    } catch (RuntimeException e) {
      world.note(machine.name + " task failed: " + e);
      machine.cluster.taskFailure(machine.name, e);
    } finally {
      world.context = was;
    }
  }

  /** A single thread: tasks run one at a time, in order, each after a small seeded delay. */
  final class SerialExecutor implements Executor {
    private final String name;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private final long minMicros;
    private final long maxMicros;
    private boolean draining;

    SerialExecutor(String name, long minMicros, long maxMicros) {
      this.name = name;
      this.minMicros = minMicros;
      this.maxMicros = maxMicros;
    }

    @Override
    public void execute(Runnable task) {
      queue.add(task);
      if (!draining) {
        draining = true;
        post(world.micros(minMicros, maxMicros), name, this::drainOne);
      }
    }

    private void drainOne() {
      Runnable r = queue.poll();
      try {
        if (r != null) {
          world.context = this;
          r.run();
        }
      } finally {
        if (queue.isEmpty()) {
          draining = false;
        } else {
          post(world.micros(minMicros, maxMicros), name, this::drainOne);
        }
      }
    }
  }

  /**
   * A thread that makes API requests: each task starts after the request latency of this machine's
   * link to the API server, and anything it hands to a loop arrives after the response latency.
   */
  final class ApiExecutor implements Executor {
    private final String name;
    private final boolean serial;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private boolean busy;

    ApiExecutor(String name, boolean serial) {
      this.name = name;
      this.serial = serial;
    }

    @Override
    public void execute(Runnable task) {
      if (!serial) {
        post(machine.link().requestDelay(), name, () -> runApi(task));
        return;
      }
      queue.add(task);
      if (!busy) {
        busy = true;
        post(machine.link().requestDelay(), name, this::next);
      }
    }

    private void next() {
      Runnable r = queue.poll();
      try {
        if (r != null) {
          runApi(r);
        }
      } finally {
        if (queue.isEmpty()) {
          busy = false;
        } else {
          post(machine.link().requestDelay(), name, this::next);
        }
      }
    }

    private void runApi(Runnable r) {
      world.context = this;
      r.run();
    }
  }

  /** A loop with timers and priority tasks on this machine's (skewed) clock. */
  final class SimScheduler implements Scheduler {
    private final String name;
    private final ArrayDeque<Runnable> urgent = new ArrayDeque<>();
    private final ArrayDeque<Runnable> normal = new ArrayDeque<>();
    private boolean draining;
    private long busyNanos;

    SimScheduler(String name) {
      this.name = name;
    }

    @Override
    public long nanoTime() {
      return machine.localNanos();
    }

    @Override
    public void execute(Runnable task) {
      add(task, false);
    }

    @Override
    public void executePriority(Runnable task) {
      add(task, true);
    }

    @Override
    public void schedule(Runnable task, long delayNanos) {
      timer(task, delayNanos, false);
    }

    @Override
    public void schedulePriority(Runnable task, long delayNanos) {
      timer(task, delayNanos, true);
    }

    private void timer(Runnable task, long delayNanos, boolean priority) {
      if (delayNanos <= 0) {
        add(task, priority);
        return;
      }
      post(machine.toGlobal(delayNanos), name + " timer", () -> enqueue(task, priority));
    }

    @Override
    public boolean inLoop() {
      return world.context == this;
    }

    /** The running task spent {@code nanos} (a kernel transaction): the next task waits for it. */
    void busy(long nanos) {
      busyNanos += nanos;
    }

    private void add(Runnable task, boolean priority) {
      Object ctx = world.context;
      if (ctx instanceof ApiExecutor) {
        // a response travelling back from the API server
        post(machine.link().responseDelay(), name + " response", () -> enqueue(task, priority));
      } else {
        enqueue(task, priority);
      }
    }

    private void enqueue(Runnable task, boolean priority) {
      (priority ? urgent : normal).add(task);
      if (!draining) {
        draining = true;
        post(world.micros(1, 200), name, this::drainOne);
      }
    }

    private void drainOne() {
      Runnable r = !urgent.isEmpty() ? urgent.poll() : normal.poll();
      try {
        if (r != null) {
          world.context = this;
          r.run();
        }
      } finally {
        long spent = busyNanos;
        busyNanos = 0;
        if (urgent.isEmpty() && normal.isEmpty()) {
          draining = false;
          if (spent > 0) {
            // the thread is still inside the transaction: nothing else runs on it meanwhile
            draining = true;
            post(spent, name + " busy", this::drainOne);
          }
        } else {
          post(spent + world.micros(1, 100), name, this::drainOne);
        }
      }
    }
  }
}
