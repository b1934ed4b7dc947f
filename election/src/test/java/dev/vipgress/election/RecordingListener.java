package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

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

  @Override
  public void lost(String vip, LossReason reason) {
    if (dead) {
      return;
    }
    owned.remove(vip);
    events.add(new Event(sched.nanoTime(), "lost", vip, reason.name()));
    ledger.lost(node, vip);
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
