package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The part of a {@link NatPlan} that follows from the VIPs this node owns — the {@code vipsN} sets,
 * the {@code snatN}/{@code snatNs} maps, each VIP's deadline — kept up to date change by change:
 * {@link #update} compares the new owned VIPs with the previous ones by VIP (a cheap pass over the
 * input, no text formatting) and recomputes only the elements of the VIPs whose backends or scope
 * changed and of the pods they name. The result equals a plan computed from scratch; the keys that
 * may differ from the previous update are collected until {@link #drainChanged}, so an applier can
 * render the change without diffing every element.
 *
 * <p>A pod egresses as the lowest VIP of its family that lists it; the others are conflicts. Of a
 * VIP listed twice, the earlier deadline wins. Not thread-safe.
 */
final class OwnedElements {
  /** The element sets this class owns. */
  static final List<String> NAMES = List.of("vips4", "vips6", "snat4", "snat6", "snat4s", "snat6s");

  private static final class Vip {
    final InetAddress addr;
    final String text;

    /** The VIP as last listed, or an earlier listing with the same backends and scope. */
    OwnedVip cur;

    OwnedVip was;
    long deadline;
    long seen;
    long touched;

    Vip(InetAddress addr) {
      this.addr = addr;
      this.text = Addresses.format(addr);
    }
  }

  private static final class Pod {
    final String text;
    final TreeSet<InetAddress> vips = new TreeSet<>(Addresses.COMPARATOR);
    String map;
    List<String> keys = List.of();

    Pod(InetAddress addr) {
      this.text = Addresses.format(addr);
    }
  }

  private final Map<InetAddress, Vip> vips = new HashMap<>();
  private final Map<InetAddress, Pod> pods = new HashMap<>();
  private final Map<String, Map<String, String>> elements = new HashMap<>();
  private final Map<String, Set<String>> changed = new HashMap<>();
  private final Map<String, Vip> byText = new HashMap<>();
  private final Map<String, Long> deadlines = new Deadlines();
  private long earliest = Long.MAX_VALUE;
  private final Map<InetAddress, List<String>> podConflicts = new HashMap<>();
  private final List<String> duplicates = new ArrayList<>();
  private final Map<InetAddress, String> scopeConflicts = new HashMap<>();
  private long generation;

  OwnedElements() {
    for (String n : NAMES) {
      elements.put(n, new HashMap<>());
      changed.put(n, new HashSet<>());
    }
  }

  /**
   * Brings the elements to what {@code owned} wants: one pass over {@code owned} (a lookup and a
   * comparison per VIP), then work in proportion to what changed (and a pass over the previous VIPs
   * if some of them are gone).
   */
  void update(Set<OwnedVip> owned) {
    long gen = ++generation;
    duplicates.clear();
    List<Vip> touched = new ArrayList<>();
    int seen = 0;
    long min = Long.MAX_VALUE;
    for (OwnedVip o : owned) {
      long deadline = o.deadlineNanos();
      min = Math.min(min, deadline);
      Vip v = vips.get(o.vip());
      if (v == null) {
        v = new Vip(o.vip());
        vips.put(o.vip(), v);
        byText.put(v.text, v);
      }
      if (v.seen == gen) {
        duplicates.add("VIP " + v.text + " listed twice; the earlier deadline wins");
        if (v.deadline <= deadline) {
          continue;
        }
        v.deadline = deadline;
        if (v.touched != gen) {
          v.touched = gen;
          v.was = v.cur;
          touched.add(v);
        }
        v.cur = o;
        continue;
      }
      seen++;
      v.seen = gen;
      v.deadline = deadline;
      // an unchanged VIP costs a lookup and two primitive writes: no reference is stored
      if (v.cur == null || !sameElements(v.cur, o)) {
        v.touched = gen;
        v.was = v.cur;
        v.cur = o;
        touched.add(v);
      }
    }
    earliest = min;
    List<OwnedVip[]> moved = new ArrayList<>();
    if (seen != vips.size()) {
      for (Iterator<Vip> it = vips.values().iterator(); it.hasNext(); ) {
        Vip v = it.next();
        if (v.seen != gen) {
          it.remove();
          byText.remove(v.text);
          moved.add(new OwnedVip[] {v.cur, null});
          vipElement(v, false);
        }
      }
    }
    for (Vip v : touched) {
      if (v.was == null) {
        vipElement(v, true);
      }
      if (v.was == null || !sameElements(v.was, v.cur)) {
        moved.add(new OwnedVip[] {v.was, v.cur});
        scopeConflict(v);
      }
      v.was = null;
    }
    // every VIP has its new state: a pod's winner is judged among them
    Set<InetAddress> affected = new HashSet<>();
    for (OwnedVip[] m : moved) {
      index(m[0], false, affected);
      index(m[1], true, affected);
    }
    for (InetAddress p : affected) {
      recompute(p);
    }
  }

  private static boolean sameElements(OwnedVip a, OwnedVip b) {
    return a == b || (a.backends().equals(b.backends()) && a.scope().equals(b.scope()));
  }

  private void vipElement(Vip v, boolean present) {
    String name = "vips" + (v.text.indexOf(':') >= 0 ? "6" : "4");
    if (present) {
      put(name, v.text, "");
    } else {
      remove(name, v.text);
      scopeConflicts.remove(v.addr);
    }
  }

  private void scopeConflict(Vip v) {
    OwnedVip o = v.cur;
    if (!o.scope().isEmpty() && NatPlan.scopeOf(o.scope(), o.family()).isEmpty()) {
      scopeConflicts.put(
          o.vip(), "VIP " + v.text + " has no scope prefix of its own family; nothing is SNATed");
    } else {
      scopeConflicts.remove(o.vip());
    }
  }

  /** Adds or removes {@code o} from the pods it names; collects those pods. */
  private void index(OwnedVip o, boolean add, Set<InetAddress> affected) {
    if (o == null) {
      return;
    }
    for (InetAddress p : o.backends()) {
      if (Family.of(p) != o.family()) {
        continue;
      }
      if (add) {
        pods.computeIfAbsent(p, Pod::new).vips.add(o.vip());
      } else {
        Pod pod = pods.get(p);
        if (pod != null) {
          pod.vips.remove(o.vip());
        }
      }
      affected.add(p);
    }
  }

  /** The SNAT elements and conflicts of one pod, from its VIPs as they are now. */
  private void recompute(InetAddress p) {
    Pod pod = pods.get(p);
    if (pod == null) {
      return;
    }
    for (String k : pod.keys) {
      remove(pod.map, k);
    }
    pod.keys = List.of();
    podConflicts.remove(p);
    if (pod.vips.isEmpty()) {
      pods.remove(p);
      return;
    }
    InetAddress winner = pod.vips.first();
    Vip w = vips.get(winner);
    Family f = Family.of(p);
    List<String> keys = new ArrayList<>();
    if (w.cur.scope().isEmpty()) {
      pod.map = "snat" + f.suffix;
      keys.add(pod.text);
    } else {
      pod.map = "snat" + f.suffix + "s";
      for (Cidr c : NatPlan.scopeOf(w.cur.scope(), f)) {
        keys.add(pod.text + " . " + NatPlan.key(c));
      }
    }
    for (String k : keys) {
      put(pod.map, k, w.text);
    }
    pod.keys = keys;
    if (pod.vips.size() > 1) {
      List<String> c = new ArrayList<>();
      for (InetAddress loser : pod.vips.tailSet(winner, false)) {
        c.add(
            "pod "
                + pod.text
                + " backs VIPs "
                + w.text
                + " and "
                + vips.get(loser).text
                + "; it egresses as "
                + w.text);
      }
      podConflicts.put(p, c);
    }
  }

  private void put(String name, String key, String value) {
    elements.get(name).put(key, value);
    changed.get(name).add(key);
  }

  private void remove(String name, String key) {
    elements.get(name).remove(key);
    changed.get(name).add(key);
  }

  /** The VIP that a pod egresses as, or null if no owned VIP lists it. */
  InetAddress egressVip(InetAddress pod) {
    Pod p = pods.get(pod);
    return p == null ? null : p.vips.first();
  }

  /**
   * Set name → elements, for every name of {@link #NAMES} and {@code ownedN} (the same elements as
   * {@code vipsN}): read-only views that follow later updates.
   */
  Map<String, Map<String, String>> elements() {
    Map<String, Map<String, String>> m = new HashMap<>();
    elements.forEach((k, v) -> m.put(k, Collections.unmodifiableMap(v)));
    m.put("owned4", m.get("vips4"));
    m.put("owned6", m.get("vips6"));
    return m;
  }

  /** VIP (nft spelling) → deadline: a read-only view that follows later updates. */
  Map<String, Long> deadlines() {
    return deadlines;
  }

  /** The earliest deadline of the owned VIPs ({@link Long#MAX_VALUE}: none). */
  long earliest() {
    return earliest;
  }

  /** The deadlines, read from the VIPs themselves (no map to rewrite on every renewal). */
  private final class Deadlines extends AbstractMap<String, Long> {
    @Override
    public Long get(Object key) {
      Vip v = byText.get(key);
      return v == null ? null : v.deadline;
    }

    @Override
    public boolean containsKey(Object key) {
      return byText.containsKey(key);
    }

    @Override
    public int size() {
      return byText.size();
    }

    @Override
    public Set<Map.Entry<String, Long>> entrySet() {
      return new AbstractSet<>() {
        @Override
        public Iterator<Map.Entry<String, Long>> iterator() {
          Iterator<Vip> it = byText.values().iterator();
          return new Iterator<>() {
            @Override
            public boolean hasNext() {
              return it.hasNext();
            }

            @Override
            public Map.Entry<String, Long> next() {
              Vip v = it.next();
              return Map.entry(v.text, v.deadline);
            }
          };
        }

        @Override
        public int size() {
          return byText.size();
        }
      };
    }
  }

  /** Every conflict, unsorted. */
  List<String> conflicts() {
    List<String> c = new ArrayList<>(duplicates);
    c.addAll(scopeConflicts.values());
    podConflicts.values().forEach(c::addAll);
    return c;
  }

  /**
   * The keys, per set name of {@link #NAMES}, whose elements may have changed since the last call
   * (a superset: a key removed and put back is listed too); resets them.
   */
  Map<String, Set<String>> drainChanged() {
    Map<String, Set<String>> out = new HashMap<>();
    for (String n : NAMES) {
      Set<String> s = changed.get(n);
      out.put(n, s.isEmpty() ? Set.of() : new HashSet<>(s));
      s.clear();
    }
    return out;
  }
}
