package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Records what an elector reported, with fake timestamps, and feeds the shared {@link Ledger}. */
final class RecordingListener implements ElectionListener {
  record Event(long at, String type, String vip, String detail) {}

  private final String node;
  private final FakeScheduler sched;
  private final Ledger ledger;
  final Map<String, Long> owned = new TreeMap<>();
  final Map<String, String> owners = new HashMap<>();
  final List<Event> events = new ArrayList<>();
  boolean dead;

  /**
   * While set, a loss stops the (fake) datapath only when this completes: the ledger counts this
   * node as owner until then. Null: {@code lostAll} stops at once.
   */
  CompletableFuture<Void> stopGate;

  RecordingListener(String node, FakeScheduler sched, Ledger ledger) {
    this.node = node;
    this.sched = sched;
    this.ledger = ledger;
  }

  @Override
  public void acquired(String vip, long deadline) {
    if (dead) {
      return;
    }
    owned.put(vip, deadline);
    events.add(new Event(sched.nanoTime(), "acquired", vip, Long.toString(deadline)));
    ledger.acquired(node, vip, deadline);
  }

  @Override
  public void renewed(String vip, long deadline) {
    if (dead) {
      return;
    }
    owned.put(vip, deadline);
    ledger.renewed(node, vip, deadline);
  }

  @Override
  public void renewedAll(Set<String> vips, long deadline) {
    ElectionListener.super.renewedAll(vips, deadline);
  }

  @Override
  public void lost(String vip) {
    throw new AssertionError("the elector calls lost(vip, reason)");
  }

  /** Without {@link #lostAll}, a loss would only be queued: the datapath stops at the gate. */
  @Override
  public void lost(String vip, LossReason reason) {
    if (dead) {
      return;
    }
    record(vip, reason);
    if (stopGate == null) {
      ledger.lost(node, vip);
    }
  }

  @Override
  public CompletionStage<Void> lostAll(Set<String> vips, LossReason reason) {
    if (dead) {
      return CompletableFuture.completedFuture(null);
    }
    lostAllCalls++;
    vips.forEach(v -> record(v, reason));
    Set<String> stopped = Set.copyOf(vips);
    CompletableFuture<Void> gate = stopGate;
    if (gate == null) {
      stopped.forEach(v -> ledger.lost(node, v));
      return CompletableFuture.completedFuture(null);
    }
    return gate.thenRun(
        () -> {
          if (!dead) {
            stopped.forEach(v -> ledger.lost(node, v));
          }
        });
  }

  int lostAllCalls;

  private void record(String vip, LossReason reason) {
    owned.remove(vip);
    events.add(new Event(sched.nanoTime(), "lost", vip, reason.name()));
  }

  @Override
  public void ownerChanged(String vip, Optional<String> owner) {
    if (dead) {
      return;
    }
    if (owner.isPresent()) {
      owners.put(vip, owner.get());
    } else {
      owners.remove(vip);
    }
  }

  /** VIPs owned now: reported and deadline not passed (a frozen process's view). */
  Set<String> ownedNow() {
    long now = sched.nanoTime();
    Set<String> s = new java.util.TreeSet<>();
    owned.forEach(
        (v, d) -> {
          if (d > now) {
            s.add(v);
          }
        });
    return s;
  }

  List<Event> events(String type) {
    return events.stream().filter(e -> e.type().equals(type)).toList();
  }

  long count(String type, String reason) {
    return events.stream()
        .filter(e -> e.type().equals(type) && (reason == null || reason.equals(e.detail())))
        .count();
  }
}
