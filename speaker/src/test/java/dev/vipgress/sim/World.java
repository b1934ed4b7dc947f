package dev.vipgress.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * The one simulated clock, the one seeded random source and the one event queue of a schedule.
 * Everything that happens in a simulation is an event here, run one at a time in (time, sequence)
 * order: no wall clock, no real threads, so a seed replays exactly.
 */
final class World {
  private record Event(long at, long seq, String what, Runnable run) {}

  private final PriorityQueue<Event> events =
      new PriorityQueue<>(
          (a, b) ->
              a.at() != b.at() ? Long.compare(a.at(), b.at()) : Long.compare(a.seq(), b.seq()));
  final SplittableRandom random;
  private final List<String> trace;
  private long now;
  private long seq;
  private long steps;
  private long traceHash = 1125899906842597L;

  /**
   * Something a packet could see changed (an announcement, a kernel transaction, a thaw, a link,
   * the cluster): the invariants are checked after such events only (they can only start to fail
   * then; deadlines passing only take state away).
   */
  boolean dirty = true;

  /** What is running now: a node's loop (for {@link SimScheduler#inLoop}) or nothing. */
  Object context;

  World(long seed, boolean keepTrace) {
    this.random = new SplittableRandom(seed);
    this.trace = keepTrace ? new ArrayList<>() : null;
  }

  long now() {
    return now;
  }

  long steps() {
    return steps;
  }

  long traceHash() {
    return traceHash;
  }

  List<String> trace() {
    return trace == null ? List.of() : trace;
  }

  void at(long at, String what, Runnable run) {
    events.add(new Event(Math.max(at, now), seq++, what, run));
  }

  void after(long delayNanos, String what, Runnable run) {
    at(now + Math.max(0, delayNanos), what, run);
  }

  /** Runs the next event if it is due by {@code until}; false when none is. */
  boolean step(long until) {
    Event e = events.peek();
    if (e == null || e.at() > until) {
      now = Math.max(now, until);
      return false;
    }
    events.poll();
    now = e.at();
    steps++;
    traceHash = traceHash * 31 + e.at() * 17 + e.what().hashCode();
    if (trace != null) {
      note(e.what());
    }
    e.run().run();
    return true;
  }

  /** Adds a line to the replay trace (only kept when replaying one seed). */
  void note(String line) {
    if (trace != null) {
      trace.add(String.format("%10.3f ms  %s", now / 1e6, line));
    }
  }

  boolean tracing() {
    return trace != null;
  }

  // ---- seeded draws ----

  long nanosBetween(long lowMillis, long highMillis) {
    return (lowMillis * 1_000_000L)
        + random.nextLong(Math.max(1, (highMillis - lowMillis) * 1_000_000L));
  }

  long micros(long low, long high) {
    return low * 1_000L + random.nextLong(Math.max(1, (high - low) * 1_000L));
  }

  boolean chance(double p) {
    return random.nextDouble() < p;
  }

  int below(int n) {
    return random.nextInt(n);
  }

  <T> T pick(List<T> items) {
    return items.get(random.nextInt(items.size()));
  }

  static long ms(long millis) {
    return millis * 1_000_000L;
  }
}
