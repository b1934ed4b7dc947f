package dev.vipgress.election;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who believes they own what, across all electors of a fake cluster, on the shared fake clock. An
 * acquisition while another node still owns the VIP (no lost() yet and its deadline not passed) is
 * a dual-owner violation: exactly what fencing must prevent.
 */
final class Ledger {
  private final FakeScheduler sched;
  private final Map<String, Map<String, Long>> owners = new HashMap<>();
  final List<String> violations = new ArrayList<>();

  Ledger(FakeScheduler sched) {
    this.sched = sched;
  }

  void acquired(String node, String vip, long deadline) {
    long now = sched.nanoTime();
    Map<String, Long> m = owners.computeIfAbsent(vip, k -> new HashMap<>());
    for (var e : m.entrySet()) {
      if (!e.getKey().equals(node) && e.getValue() > now) {
        violations.add(
            vip
                + ": "
                + node
                + " acquired at "
                + now
                + " while "
                + e.getKey()
                + " owns it until "
                + e.getValue());
      }
    }
    m.put(node, deadline);
  }

  void renewed(String node, String vip, long deadline) {
    Map<String, Long> m = owners.computeIfAbsent(vip, k -> new HashMap<>());
    if (m.containsKey(node)) {
      m.put(node, deadline);
    }
  }

  void lost(String node, String vip) {
    Map<String, Long> m = owners.get(vip);
    if (m != null) {
      m.remove(node);
    }
  }

  /**
   * A crashed process's ownership ends at its last deadline: keep it, it still counts until then.
   */
  void crashed(String node) {
    // deadlines stay as they were: the datapath's kernel state expires on its own at the deadline
  }
}
