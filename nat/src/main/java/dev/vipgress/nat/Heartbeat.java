package dev.vipgress.nat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The kernel heartbeat for the table as a {@link KernelElements} mirror holds it: rendered only
 * once {@code nft} is running, immediately before the script is handed to it, so the kernel state
 * never outlives a deadline by the time it took to render, start or commit anything else. It arms
 * the {@code alive} element to the earliest deadline of the live owned VIPs and moves VIPs past
 * their own deadline out of the {@code owned} sets (and live ones back in): one pass over the VIPs,
 * no copies.
 */
final class Heartbeat {
  private final NftRenderer renderer;
  private final NatConfig config;
  private final LongSupplier clock;
  private final KernelElements cur;
  private final Map<String, Long> deadlines;
  private final long earliest;
  private final List<String> leave = new ArrayList<>();
  private final List<String> join = new ArrayList<>();
  private long ms;

  /**
   * @param cur the table as it will be when the heartbeat commits (the element changes of the same
   *     transaction already applied)
   * @param deadlines VIP → deadline ({@link System#nanoTime()}); a VIP of {@code cur} without one
   *     is fenced
   * @param earliest the earliest of {@code deadlines} when they hold exactly the VIPs of {@code
   *     cur} ({@link Long#MAX_VALUE}: no VIPs), or {@link #UNKNOWN}: then, and whenever a VIP's
   *     deadline has passed, every VIP is looked at
   */
  Heartbeat(
      NftRenderer renderer,
      NatConfig config,
      LongSupplier clock,
      KernelElements cur,
      Map<String, Long> deadlines,
      long earliest) {
    this.renderer = renderer;
    this.config = config;
    this.clock = clock;
    this.cur = cur;
    this.deadlines = deadlines;
    this.earliest = earliest;
  }

  /** {@code earliest} when the deadlines may name other VIPs than the table holds. */
  static final long UNKNOWN = Long.MIN_VALUE;

  List<String> render() {
    long now = clock.getAsLong();
    leave.clear();
    join.clear();
    if (earliest != UNKNOWN && earliest != Long.MAX_VALUE) {
      long t = timeoutMs(config, earliest, now);
      int vips = cur.get("vips4").size() + cur.get("vips6").size();
      int owned = cur.get("owned4").size() + cur.get("owned6").size();
      if (t > 0 && owned == vips) {
        // every VIP is live and owned already (owned is a subset of vips): nothing moves
        ms = t;
        return renderer.heartbeat(ms, List.of(), List.of());
      }
    }
    long min = Long.MAX_VALUE;
    for (Family f : Family.values()) {
      Map<String, String> owned = cur.get("owned" + f.suffix);
      for (String v : cur.get("vips" + f.suffix).keySet()) {
        long t = timeoutMs(config, deadlines.get(v), now);
        if (t > 0) {
          min = Math.min(min, t);
          if (!owned.containsKey(v)) {
            join.add(v);
          }
        } else if (owned.containsKey(v)) {
          leave.add(v);
        }
      }
    }
    ms = min == Long.MAX_VALUE ? 0 : min;
    return renderer.heartbeat(ms, TableState.sorted(leave), TableState.sorted(join));
  }

  /** Records in the mirror what the rendered heartbeat did, once it is committed. */
  void committed() {
    for (Family f : Family.values()) {
      cur.remove("owned" + f.suffix, ofFamily(leave, f));
      cur.put("owned" + f.suffix, ofFamily(join, f));
    }
    cur.alive(ms > 0 ? Set.of("ipv4", "ipv6") : Set.of());
  }

  private static List<String> ofFamily(List<String> vips, Family f) {
    return vips.stream().filter(v -> (v.indexOf(':') >= 0) == (f == Family.V6)).toList();
  }

  /** How long a VIP with {@code deadline} (null: none) stays live from {@code now}; 0: not. */
  static long timeoutMs(NatConfig config, Long deadline, long now) {
    return deadline == null
        ? 0
        : Math.max(0, (deadline - now) / 1_000_000 - config.fenceMargin().toMillis());
  }

  /** The VIPs of {@code keys} that are live at {@code now}. */
  static Set<String> live(
      NatConfig config, Iterable<String> keys, Map<String, Long> deadlines, long now) {
    Set<String> live = new HashSet<>();
    for (String v : keys) {
      if (timeoutMs(config, deadlines.get(v), now) > 0) {
        live.add(v);
      }
    }
    return live;
  }
}
