package dev.vipgress.nat;

import static dev.vipgress.nat.Fixtures.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The incremental planner ({@link OwnedElements} kept across applies) equals a plan from scratch
 * after every step of random sequences of changes (seeded: a failure names its seed and step), and
 * names every element key that changed.
 */
class IncrementalPlanTest {
  private final NatConfig config = NatConfig.builder("eth0").build();

  private static final List<InetAddress> VIPS = new ArrayList<>();
  private static final List<InetAddress> PODS = new ArrayList<>();
  private static final List<Set<Cidr>> SCOPES =
      List.of(
          Set.of(),
          Set.of(),
          Set.of(),
          Set.of(Cidr.parse("8.8.8.0/24")),
          Set.of(Cidr.parse("8.8.8.0/24"), Cidr.parse("9.9.0.0/16"), Cidr.parse("9.9.9.0/24")),
          Set.of(Cidr.parse("fd00::/8")),
          Set.of(Cidr.parse("fd00::/8"), Cidr.parse("8.8.8.8")));

  static {
    for (int i = 0; i < 10; i++) {
      VIPS.add(ip("192.168.100." + (200 + i)));
    }
    for (int i = 0; i < 4; i++) {
      VIPS.add(ip("fd76:100::" + (200 + i)));
    }
    for (int i = 0; i < 14; i++) {
      PODS.add(ip("10.244.1." + (2 + i)));
    }
    for (int i = 0; i < 5; i++) {
      PODS.add(ip("fd76:244:1::" + (2 + i)));
    }
  }

  @Test
  void incrementalEqualsAFullPlanOverRandomSequences() {
    for (long seed = 1; seed <= 15; seed++) {
      Random rnd = new Random(seed);
      OwnedElements owned = new OwnedElements();
      Map<InetAddress, OwnedVip> state = new HashMap<>();
      List<OwnedVip> extra = new ArrayList<>();
      NatPlan before = NatPlan.of(NodeDesired.empty(), config, Map.of());
      for (int step = 0; step < 80; step++) {
        String where = "seed " + seed + " step " + step;
        mutate(rnd, state, extra);
        Set<OwnedVip> set = new HashSet<>(state.values());
        set.addAll(extra);
        NodeDesired d = new NodeDesired(set, steering(rnd), Set.of(Cidr.parse("10.96.0.0/16")));
        Map<String, Integer> slots = NatPlan.assignSlots(d, config, Map.of(), Map.of());

        owned.update(d.owned());
        NatPlan inc = NatPlan.of(owned, d, config, slots, Set.of());
        NatPlan full = NatPlan.of(d, config, slots);
        assertEquals(full.table().elements(), inc.table().elements(), where);
        assertEquals(full.conflicts(), inc.conflicts(), where);
        assertEquals(full.deadlines(), inc.deadlines(), where);
        assertEquals(full.slots(), inc.slots(), where);
        assertEquals(full.refused(), inc.refused(), where);
        assertEquals(reference(d), ownedPart(full), where);

        Map<String, Set<String>> changed = owned.drainChanged();
        for (String name : OwnedElements.NAMES) {
          Set<String> differ = differing(before.table().get(name), full.table().get(name));
          assertTrue(
              changed.get(name).containsAll(differ),
              where + ": " + name + " changed " + differ + ", named " + changed.get(name));
        }
        before = full;
      }
    }
  }

  @Test
  void oneChangedBackendNamesOnlyItsPods() {
    OwnedElements owned = new OwnedElements();
    Set<OwnedVip> many = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      many.add(new OwnedVip(v4(0x64400000 + i), Set.of(v4(0xac100000 + i)), 5));
    }
    owned.update(many);
    owned.drainChanged();
    Set<OwnedVip> next = new HashSet<>(many);
    next.remove(new OwnedVip(v4(0x64400007), Set.of(v4(0xac100007)), 5));
    next.add(new OwnedVip(v4(0x64400007), Set.of(v4(0xac200000)), 6));
    owned.update(next);
    Map<String, Set<String>> changed = owned.drainChanged();
    assertEquals(Set.of("172.16.0.7", "172.32.0.0"), changed.get("snat4"));
    assertEquals(Set.of(), changed.get("vips4"));
    assertEquals(6L, owned.deadlines().get("100.64.0.7"));
    assertEquals(5L, owned.earliest());
  }

  private static InetAddress v4(int x) {
    return ip((x >>> 24) + "." + ((x >>> 16) & 255) + "." + ((x >>> 8) & 255) + "." + (x & 255));
  }

  static void mutate(Random rnd, Map<InetAddress, OwnedVip> state, List<OwnedVip> extra) {
    extra.clear();
    int n = 1 + rnd.nextInt(3);
    for (int i = 0; i < n; i++) {
      InetAddress vip = VIPS.get(rnd.nextInt(VIPS.size()));
      switch (rnd.nextInt(7)) {
        case 0, 1 -> state.put(vip, random(rnd, vip));
        case 2 -> state.remove(vip);
        case 3 -> {
          OwnedVip o = state.get(vip);
          if (o != null) {
            state.put(vip, new OwnedVip(vip, o.backends(), o.deadlineNanos(), pick(rnd, SCOPES)));
          }
        }
        case 4 -> {
          // every deadline moves (a renewal), nothing else
          state.replaceAll(
              (k, o) -> new OwnedVip(k, o.backends(), o.deadlineNanos() + 1, o.scope()));
        }
        case 5 -> {
          // the same VIP listed twice (earlier or later deadline)
          OwnedVip o = state.get(vip);
          if (o != null) {
            extra.add(
                new OwnedVip(
                    vip, pods(rnd), o.deadlineNanos() + rnd.nextInt(3) - 1, pick(rnd, SCOPES)));
          }
        }
        default -> {
          OwnedVip o = state.get(vip);
          if (o != null) {
            Set<InetAddress> b = new HashSet<>(o.backends());
            InetAddress p = pick(rnd, PODS);
            if (!b.remove(p)) {
              b.add(p);
            }
            state.put(vip, new OwnedVip(vip, b, o.deadlineNanos(), o.scope()));
          }
        }
      }
    }
  }

  private static OwnedVip random(Random rnd, InetAddress vip) {
    return new OwnedVip(vip, pods(rnd), 100 + rnd.nextInt(5), pick(rnd, SCOPES));
  }

  private static Set<InetAddress> pods(Random rnd) {
    Set<InetAddress> s = new HashSet<>();
    int k = rnd.nextInt(4);
    for (int i = 0; i < k; i++) {
      s.add(pick(rnd, PODS));
    }
    return s;
  }

  static Map<InetAddress, Steer> steering(Random rnd) {
    Map<InetAddress, Steer> m = new HashMap<>();
    for (int i = 0; i < rnd.nextInt(3); i++) {
      InetAddress p = pick(rnd, PODS);
      boolean v6 = p.getAddress().length == 16;
      m.put(
          p,
          new Steer(
              rnd.nextBoolean() ? "node2" : "node3",
              ip(v6 ? "fd76:100::12" : "192.168.100.12"),
              ip(v6 ? "fd76:100::250" : "192.168.100.250")));
    }
    return m;
  }

  private static <T> T pick(Random rnd, List<T> l) {
    return l.get(rnd.nextInt(l.size()));
  }

  private static Set<String> differing(Map<String, String> a, Map<String, String> b) {
    Set<String> out = new TreeSet<>();
    Set<String> keys = new HashSet<>(a.keySet());
    keys.addAll(b.keySet());
    for (String k : keys) {
      if (!java.util.Objects.equals(a.get(k), b.get(k))) {
        out.add(k);
      }
    }
    return out;
  }

  private static Map<String, Map<String, String>> ownedPart(NatPlan p) {
    Map<String, Map<String, String>> m = new TreeMap<>();
    for (String n : OwnedElements.NAMES) {
      m.put(n, new TreeMap<>(p.table().get(n)));
    }
    return m;
  }

  /**
   * The owned part written the plain way, straight from the rules (lowest VIP wins a pod, the
   * earlier deadline wins a VIP listed twice), with no state: the oracle.
   */
  private static Map<String, Map<String, String>> reference(NodeDesired d) {
    Map<String, Map<String, String>> m = new TreeMap<>();
    for (String n : OwnedElements.NAMES) {
      m.put(n, new TreeMap<>());
    }
    Map<InetAddress, OwnedVip> byVip = new HashMap<>();
    for (OwnedVip o : d.owned()) {
      byVip.merge(o.vip(), o, (a, b) -> a.deadlineNanos() <= b.deadlineNanos() ? a : b);
    }
    TreeMap<InetAddress, OwnedVip> sorted = new TreeMap<>(Addresses.COMPARATOR);
    sorted.putAll(byVip);
    Set<InetAddress> taken = new HashSet<>();
    for (OwnedVip o : sorted.values()) {
      Family f = o.family();
      String vip = Addresses.format(o.vip());
      m.get("vips" + f.suffix).put(vip, "");
      for (InetAddress pod : o.backends()) {
        if (Family.of(pod) != f || !taken.add(pod)) {
          continue;
        }
        String p = Addresses.format(pod);
        if (o.scope().isEmpty()) {
          m.get("snat" + f.suffix).put(p, vip);
        }
        for (Cidr c : NatPlan.scopeOf(o.scope(), f)) {
          m.get("snat" + f.suffix + "s").put(p + " . " + NatPlan.key(c), vip);
        }
      }
    }
    return m;
  }
}
