package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import io.kubernetes.client.openapi.ApiClient;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** An in-process elector against the lab API server, recording into a shared {@link Timeline}. */
final class LabElector implements AutoCloseable {
  final String node;
  final LeaseElector elector;
  final Map<String, Long> owned = new ConcurrentHashMap<>();
  final Map<String, String> owners = new ConcurrentHashMap<>();
  final Map<LossReason, Integer> losses = new ConcurrentHashMap<>();
  private final Timeline timeline;

  LabElector(ElectionConfig config, ApiClient client, String node, Timeline timeline) {
    this.node = node;
    this.timeline = timeline;
    this.elector = new LeaseElector(config, client, node, new Listener());
  }

  LabElector start(Set<String> vips) {
    elector.setCandidacy(vips);
    elector.start();
    return this;
  }

  Set<String> ownedNow() {
    long now = System.nanoTime();
    Set<String> s = new java.util.TreeSet<>();
    owned.forEach(
        (v, d) -> {
          if (d - now > 0) {
            s.add(v);
          }
        });
    return s;
  }

  int losses(LossReason r) {
    return losses.getOrDefault(r, 0);
  }

  @Override
  public void close() {
    elector.close();
  }

  private final class Listener implements ElectionListener {
    @Override
    public void acquired(String vip, long deadline) {
      owned.put(vip, deadline);
      timeline.add(new Timeline.Event(System.nanoTime(), node, "acquired", vip, deadline, null));
    }

    @Override
    public void renewed(String vip, long deadline) {
      renewedAll(Set.of(vip), deadline);
    }

    @Override
    public void renewedAll(Set<String> vips, long deadline) {
      for (String v : vips) {
        owned.replace(v, deadline);
      }
      timeline.add(new Timeline.Event(System.nanoTime(), node, "renewed", null, deadline, vips));
    }

    @Override
    public void lost(String vip) {
      throw new AssertionError("the elector calls lost(vip, reason)");
    }

    @Override
    public void lost(String vip, LossReason reason) {
      owned.remove(vip);
      losses.merge(reason, 1, Integer::sum);
      timeline.add(new Timeline.Event(System.nanoTime(), node, "lost", vip, 0, null));
    }

    @Override
    public void ownerChanged(String vip, Optional<String> owner) {
      if (owner.isPresent()) {
        owners.put(vip, owner.get());
      } else {
        owners.remove(vip);
      }
    }
  }
}
