package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The policy routing half of steering: per owner slot, {@code ip rule fwmark M lookup T} and table
 * T = {@code default via <owner>} (or, for an owner on another L2 segment, {@code default via
 * <owner> dev <vxlan> onlink}: the tunnel's static neighbour and FDB entries carry it to the owner)
 * plus {@code throw} routes for the cluster ranges. Pure parsing of {@code ip -j} output and pure
 * diffs into {@code ip -batch} lines.
 */
public final class SteeringRoutes {

  /**
   * One family's policy routing state in our range.
   *
   * @param routes table → destination (nft spelling, {@code default}) → {@code via <ip>} or {@code
   *     throw}
   * @param rules rule tables, keyed by fwmark
   */
  public record View(
      SortedMap<Integer, SortedMap<String, String>> routes, SortedMap<Integer, Integer> rules) {
    public static View empty() {
      return new View(new TreeMap<>(), new TreeMap<>());
    }

    /** slot → next hops in its default route (to keep slots across restarts). */
    Map<Integer, Set<InetAddress>> nextHops(NatConfig c) {
      Map<Integer, Set<InetAddress>> m = new HashMap<>();
      for (Map.Entry<Integer, SortedMap<String, String>> e : routes.entrySet()) {
        String via = e.getValue().get("default");
        if (via != null && via.startsWith("via ")) {
          m.computeIfAbsent(e.getKey() - c.routeTableBase(), k -> new HashSet<>())
              .add(Addresses.parse(via.substring(4).split(" ")[0]));
        }
      }
      return m;
    }
  }

  /**
   * The changes to make: {@code before} runs ahead of the nft transaction, {@code after} behind.
   */
  public record Diff(Map<Family, List<String>> before, Map<Family, List<String>> after) {
    public boolean isEmpty() {
      return before.values().stream().allMatch(List::isEmpty)
          && after.values().stream().allMatch(List::isEmpty);
    }
  }

  /**
   * The key of each steering table's last resort: {@code blackhole default} at the largest metric.
   * The kernel flushes {@code default via <owner>} with the link it leaves by; a packet marked for
   * that owner then hits the blackhole instead of falling through to the main table and leaving
   * with the pod's own address. (The {@code throw} routes still hand cluster destinations, such as
   * the tunnel's own encapsulated packets, on to the main table.)
   */
  static final String FENCE = "fence";

  static final long FENCE_METRIC = 4294967295L;

  private final NatConfig config;

  public SteeringRoutes(NatConfig config) {
    this.config = config;
  }

  private boolean ours(int table) {
    return table >= config.routeTableBase() && table < config.routeTableBase() + config.maxSlots();
  }

  /** Parses {@code ip -j -4|-6 route show table all} and {@code ip -j -4|-6 rule show}. */
  public View parse(String routesJson, String rulesJson) {
    SortedMap<Integer, SortedMap<String, String>> routes = new TreeMap<>();
    for (Object o : Json.list(routesJson)) {
      if (!(o instanceof Map<?, ?> r)) {
        continue;
      }
      Integer table = number(r.get("table"));
      if (table == null || !ours(table)) {
        continue;
      }
      String dst = dst(String.valueOf(r.get("dst")));
      String type = r.get("type") instanceof String s ? s : "unicast";
      String target;
      if ("blackhole".equals(type)
          && "default".equals(dst)
          && r.get("metric") instanceof Number m
          && m.longValue() == FENCE_METRIC) {
        dst = FENCE;
        target = "blackhole";
      } else if ("throw".equals(type)) {
        target = "throw";
      } else if (r.get("gateway") instanceof String gw) {
        target = "via " + Addresses.format(Addresses.parse(gw));
        if (config.vxlan() && config.vxlanDevice().equals(r.get("dev"))) {
          boolean onlink = r.get("flags") instanceof List<?> fl && fl.contains("onlink");
          target += " dev " + config.vxlanDevice() + (onlink ? " onlink" : "");
        }
      } else {
        target = type + (r.get("dev") instanceof String d ? " dev " + d : "");
      }
      routes.computeIfAbsent(table, k -> new TreeMap<>()).put(dst, target);
    }
    SortedMap<Integer, Integer> rules = new TreeMap<>();
    for (Object o : Json.list(rulesJson)) {
      if (!(o instanceof Map<?, ?> r)) {
        continue;
      }
      Integer prio = number(r.get("priority"));
      Integer table = number(r.get("table"));
      Integer mark = number(r.get("fwmark"));
      if (prio == null || prio != config.rulePriority() || table == null || mark == null) {
        continue;
      }
      if (ours(table) || config.slotOf(mark) >= 0) {
        rules.put(mark, table);
      }
    }
    return new View(routes, rules);
  }

  /** The routes and rules {@code plan} needs for {@code f}. */
  public View desired(NatPlan plan, Family f) {
    SortedMap<Integer, SortedMap<String, String>> routes = new TreeMap<>();
    SortedMap<Integer, Integer> rules = new TreeMap<>();
    for (Map.Entry<Integer, NatPlan.SlotRoute> e : plan.slots().entrySet()) {
      InetAddress nh = e.getValue().nextHop(f);
      if (nh == null) {
        continue;
      }
      int table = config.routeTableBase() + e.getKey();
      SortedMap<String, String> t = new TreeMap<>();
      t.put(
          "default",
          "via "
              + Addresses.format(nh)
              + (e.getValue().tunnel() != null ? " dev " + config.vxlanDevice() + " onlink" : ""));
      for (Cidr c : plan.clusterRanges()) {
        if (c.family() == f) {
          t.put(NatPlan.key(c), "throw");
        }
      }
      t.put(FENCE, "blackhole");
      routes.put(table, t);
      rules.put(config.markOf(e.getKey()), table);
    }
    return new View(routes, rules);
  }

  /**
   * Lines for {@code ip -batch -}: new and changed routes, then rules, before the nft transaction
   * (an unused table is harmless); stale rules, then stale routes, after it (nothing marks packets
   * for them any more).
   */
  public Diff diff(Map<Family, View> current, Map<Family, View> desired) {
    Map<Family, List<String>> before = new EnumMap<>(Family.class);
    Map<Family, List<String>> after = new EnumMap<>(Family.class);
    for (Family f : Family.values()) {
      View cur = current.getOrDefault(f, View.empty());
      View want = desired.getOrDefault(f, View.empty());
      List<String> b = new ArrayList<>();
      List<String> a = new ArrayList<>();
      for (Map.Entry<Integer, SortedMap<String, String>> t : want.routes().entrySet()) {
        Map<String, String> have = cur.routes().getOrDefault(t.getKey(), new TreeMap<>());
        for (Map.Entry<String, String> r : t.getValue().entrySet()) {
          if (!r.getValue().equals(have.get(r.getKey()))) {
            b.add(routeLine("replace", r.getKey(), r.getValue(), t.getKey()));
          }
        }
      }
      for (Map.Entry<Integer, Integer> r : want.rules().entrySet()) {
        Integer have = cur.rules().get(r.getKey());
        if (!r.getValue().equals(have)) {
          if (have != null) {
            a.add(ruleLine("del", r.getKey(), have));
          }
          b.add(ruleLine("add", r.getKey(), r.getValue()));
        }
      }
      for (Map.Entry<Integer, Integer> r : cur.rules().entrySet()) {
        if (!want.rules().containsKey(r.getKey())) {
          a.add(ruleLine("del", r.getKey(), r.getValue()));
        }
      }
      for (Map.Entry<Integer, SortedMap<String, String>> t : cur.routes().entrySet()) {
        Map<String, String> keep = want.routes().getOrDefault(t.getKey(), new TreeMap<>());
        for (Map.Entry<String, String> r : t.getValue().entrySet()) {
          if (!keep.containsKey(r.getKey())) {
            a.add(routeLine("del", r.getKey(), r.getValue(), t.getKey()));
          }
        }
      }
      before.put(f, b);
      after.put(f, a);
    }
    return new Diff(before, after);
  }

  /** Lines that remove every rule and route of ours in {@code current}. */
  public Map<Family, List<String>> removeAll(Map<Family, View> current) {
    Map<Family, View> none = new EnumMap<>(Family.class);
    return diff(current, none).after();
  }

  private String routeLine(String verb, String dst, String target, int table) {
    String head = "route " + verb + " ";
    if (FENCE.equals(dst)) {
      return head + "blackhole default metric " + FENCE_METRIC + " table " + table;
    }
    if ("throw".equals(target)) {
      return head + "throw " + dst + " table " + table;
    }
    if (target.startsWith("via ")) {
      return head + dst + " " + target + " table " + table;
    }
    return head + dst + " table " + table;
  }

  private String ruleLine(String verb, int mark, int table) {
    return String.format(
        "rule %s pref %d fwmark 0x%x/0x%x lookup %d",
        verb, config.rulePriority(), mark, config.fwmarkMask(), table);
  }

  private static String dst(String d) {
    if ("default".equals(d)) {
      return d;
    }
    Cidr c = Cidr.parse(d);
    return c.prefix() == 0 ? "default" : NatPlan.key(c);
  }

  private static Integer number(Object o) {
    if (o instanceof Number n) {
      return n.intValue();
    }
    if (o instanceof String s) {
      try {
        return s.startsWith("0x") ? (int) Long.parseLong(s.substring(2), 16) : Integer.parseInt(s);
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return null;
  }

  /** Every table number of ours mentioned in {@code v} (for logs). */
  static Set<Integer> tables(View v) {
    Set<Integer> s = new TreeSet<>(v.routes().keySet());
    s.addAll(v.rules().values());
    return s;
  }
}
