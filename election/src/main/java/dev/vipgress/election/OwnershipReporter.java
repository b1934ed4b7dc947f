package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the elector tells the listener, in order, on the events thread — and the {@code lost()}
 * barrier. Owns what this node announced (with the deadline the listener was last given), the owner
 * reported for every VIP, and the views other threads read ({@link #owners()}, {@link #deadline}).
 * Loop-confined apart from those views.
 *
 * <p>Losses are collected into one batch per reason and handed over by one {@link
 * ElectionListener#lostAll} each, before any later event (an {@code ownerChanged} reported after a
 * loss waits behind its batch). A lost VIP stays {@link #releasePending pending} — no release that
 * lets a peer take it may be written — until the stage the listener returned has completed, or at
 * the latest until the fencing deadline the listener was last given for it: by then the datapath
 * has stopped by contract (its kernel state expires on its own), and a peer could have fenced this
 * node anyway. A listener that never completes delays a handover by at most one lease duration and
 * never lets two nodes own a VIP.
 */
final class OwnershipReporter {
  private static final Logger log = LoggerFactory.getLogger(OwnershipReporter.class);

  /** Sentinel in {@link #deadlineView}: the VIP follows the node's liveness deadline. */
  private static final long FOLLOWS_NODE = Long.MIN_VALUE;

  private final String node;
  private final ElectionListener listener;
  private final Scheduler loop;
  private final Executor events;
  private final Timers timers;
  private final Consumer<Set<String>> released;

  private final Map<String, Long> announced = new HashMap<>();
  private final Map<String, Optional<String>> reportedOwner = new HashMap<>();
  private final Map<String, Integer> pendingLost = new HashMap<>();
  private final Map<LossReason, LossBatch> lostSinceFlush = new EnumMap<>(LossReason.class);
  private final List<Runnable> heldBehindLosses = new ArrayList<>();

  // ---- read from any thread ----
  private final ConcurrentHashMap<String, String> ownerView = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> deadlineView = new ConcurrentHashMap<>();
  private volatile long nodeDeadlineView = Long.MIN_VALUE;
  private final AtomicReference<Thread> eventThread = new AtomicReference<>();

  /**
   * @param released called on the loop with the VIPs of a batch once the listener has stopped
   *     serving them (or their deadline passed): their releases may be written now
   */
  OwnershipReporter(
      String node,
      ElectionListener listener,
      Scheduler loop,
      Executor events,
      Timers timers,
      Consumer<Set<String>> released) {
    this.node = node;
    this.listener = listener;
    this.loop = loop;
    this.events = events;
    this.timers = timers;
    this.released = released;
  }

  // ---- loop ----

  /** This node now owns {@code v} until {@code deadline}; {@code frozen}: not renewed with it. */
  void acquired(String v, long deadline, boolean frozen) {
    announced.put(v, deadline);
    deadlineView.put(v, frozen ? deadline : FOLLOWS_NODE);
    emit(() -> listener.acquired(v, deadline));
  }

  /** Still owned; its deadline is {@code frozenDeadline}, or the node's if null. */
  void stillOwned(String v, Long frozenDeadline) {
    deadlineView.put(v, frozenDeadline != null ? frozenDeadline : FOLLOWS_NODE);
  }

  /** This node no longer owns {@code v}: handed over in the next batch for {@code why}. */
  void lost(String v, LossReason why) {
    Long last = announced.remove(v);
    deadlineView.remove(v);
    pendingLost.merge(v, 1, Integer::sum);
    lostSinceFlush
        .computeIfAbsent(why, LossBatch::new)
        .add(v, last == null ? loop.nanoTime() : last);
    timers.arm(Timers.Job.FLUSH_LOSSES, 0, this::flushLosses); // one lostAll per batch
  }

  /** One renewal moved the deadline of every owned VIP not in {@code frozen} to {@code d}. */
  void renewed(long d, Set<String> frozen) {
    if (announced.isEmpty()) {
      return;
    }
    Set<String> renewedVips = new LinkedHashSet<>();
    for (Map.Entry<String, Long> e : announced.entrySet()) {
      if (!frozen.contains(e.getKey())) {
        e.setValue(d);
        renewedVips.add(e.getKey());
      }
    }
    Set<String> vips = Set.copyOf(renewedVips);
    emit(() -> listener.renewedAll(vips, d));
  }

  /** The owner of {@code v} as this node sees it (empty: nobody). */
  void owner(String v, Optional<String> owner) {
    Optional<String> before = reportedOwner.get(v);
    if (owner.equals(before == null ? Optional.empty() : before)) {
      if (owner.isEmpty() && before != null) {
        reportedOwner.remove(v);
      }
      return;
    }
    if (owner.isPresent()) {
      reportedOwner.put(v, owner);
      ownerView.put(v, owner.get());
    } else {
      reportedOwner.remove(v);
      ownerView.remove(v);
    }
    log.debug("ownerChanged node={} vip={} owner={}", node, v, owner.orElse("-"));
    Runnable call = () -> listener.ownerChanged(v, owner);
    if (lostSinceFlush.isEmpty()) {
      submitEvent(call);
    } else {
      heldBehindLosses.add(call);
    }
  }

  void nodeDeadline(long d) {
    nodeDeadlineView = d;
  }

  boolean announced(String v) {
    return announced.containsKey(v);
  }

  /** VIPs this node announces now (a live view: copy before changing ownership). */
  Set<String> announcedVips() {
    return Collections.unmodifiableSet(announced.keySet());
  }

  /** The owner reported for every VIP that has one. */
  Map<String, Optional<String>> reportedOwners() {
    return Collections.unmodifiableMap(reportedOwner);
  }

  /** Whether a release of {@code v} must still wait for the listener. */
  boolean releasePending(String v) {
    return pendingLost.containsKey(v);
  }

  boolean anyReleasePending() {
    return !pendingLost.isEmpty();
  }

  // ---- any thread ----

  Map<String, String> owners() {
    return Map.copyOf(ownerView);
  }

  int ownedCount() {
    return deadlineView.size();
  }

  OptionalLong deadline(String v) {
    Long d = deadlineView.get(v);
    if (d == null) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(d == FOLLOWS_NODE ? nodeDeadlineView : d);
  }

  /** Whether the caller is the events thread (it must not wait for the loop). */
  boolean onEventThread() {
    return Thread.currentThread() == eventThread.get();
  }

  // ---- delivery ----

  /** VIPs lost for one reason; {@code bound}: the latest deadline the listener was given. */
  private static final class LossBatch {
    final LossReason reason;
    final Set<String> vips = new LinkedHashSet<>();
    long bound = Long.MIN_VALUE;
    boolean delivered;

    LossBatch(LossReason reason) {
      this.reason = reason;
    }

    void add(String v, long deadline) {
      vips.add(v);
      if (bound == Long.MIN_VALUE || deadline - bound > 0) {
        bound = deadline;
      }
    }
  }

  private void flushLosses() {
    timers.cancel(Timers.Job.FLUSH_LOSSES);
    if (lostSinceFlush.isEmpty()) {
      return;
    }
    List<LossBatch> batches = new ArrayList<>(lostSinceFlush.values());
    lostSinceFlush.clear();
    long now = loop.nanoTime();
    for (LossBatch batch : batches) {
      Set<String> vipsLost = Collections.unmodifiableSet(batch.vips);
      submit(
          () -> {
            CompletionStage<Void> stopped;
            try {
              stopped = listener.lostAll(vipsLost, batch.reason);
            } catch (RuntimeException e) {
              log.error("election listener failed", e);
              stopped = null;
            }
            if (stopped == null) {
              loop.executePriority(() -> delivered(batch, false));
            } else {
              stopped.whenComplete(
                  (ok, err) -> loop.executePriority(() -> delivered(batch, false)));
            }
          });
      loop.schedulePriority(() -> delivered(batch, true), Math.max(0, batch.bound - now));
    }
    heldBehindLosses.forEach(this::submitEvent);
    heldBehindLosses.clear();
  }

  private void delivered(LossBatch batch, boolean timedOut) {
    if (batch.delivered) {
      return;
    }
    batch.delivered = true;
    if (timedOut) {
      log.atWarn()
          .addKeyValue("node", node)
          .addKeyValue("vips", batch.vips.size())
          .addKeyValue("reason", batch.reason)
          .log("lostBarrierTimedOut: the listener did not confirm the stop before the deadline");
    }
    for (String v : batch.vips) {
      pendingLost.computeIfPresent(v, (k, n) -> n > 1 ? n - 1 : null);
    }
    released.accept(batch.vips);
  }

  /** Runs {@code call} on the event thread, after every loss reported before it. */
  private void emit(Runnable call) {
    flushLosses();
    submitEvent(call);
  }

  private void submitEvent(Runnable call) {
    submit(
        () -> {
          try {
            call.run();
          } catch (RuntimeException e) {
            log.error("election listener failed", e);
          }
        });
  }

  private void submit(Runnable task) {
    try {
      events.execute(
          () -> {
            eventThread.compareAndSet(null, Thread.currentThread());
            task.run();
          });
    } catch (RejectedExecutionException e) {
      // closed
    }
  }
}
