package dev.vipgress.nat;

import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The element contents of the table's sets and maps, in nft's own text spelling (keys like {@code
 * 10.244.1.2}, {@code 10.244.1.2 . 0.0.0.0/0}; values like {@code 192.168.100.200}, {@code
 * 0x00010000}; plain sets map every key to the empty string). The heartbeat ({@code alive}) is not
 * here: its elements carry expiry and are rewritten on every transaction. Hash maps, not sorted
 * ones: with 50,000 elements a change of one costs a few hash operations, and only what is rendered
 * is put in order.
 *
 * @param present whether the table exists at all
 * @param elements set or map name → key → value
 * @param alive the families whose heartbeat element is in the {@code alive} set ({@code ipv4},
 *     {@code ipv6}; it may have expired since)
 */
public record TableState(
    boolean present, Map<String, Map<String, String>> elements, Set<String> alive) {

  /** The sets and maps whose elements {@link TableState} tracks, in render order. */
  static final List<String> TRACKED =
      List.of(
          "cluster4",
          "cluster6",
          "vips4",
          "vips6",
          "owned4",
          "owned6",
          "snat4",
          "snat6",
          "snat4s",
          "snat6s",
          "steer4",
          "steer6",
          "steer4s",
          "steer6s",
          "tunnel4",
          "tunnel6",
          "backends4",
          "backends6",
          "backends4s",
          "backends6s");

  /**
   * Wraps (does not copy) the element maps: callers hand over maps they no longer change, so
   * deriving a state ({@link #withOwned} and friends) stays cheap with 50,000 elements.
   */
  public TableState {
    Map<String, Map<String, String>> wrapped = new HashMap<>();
    for (String name : TRACKED) {
      Map<String, String> m = elements.get(name);
      wrapped.put(name, m == null ? Map.of() : Collections.unmodifiableMap(m));
    }
    elements = Collections.unmodifiableMap(wrapped);
    alive = Set.copyOf(alive);
  }

  public TableState(boolean present, Map<String, Map<String, String>> elements) {
    this(present, elements, Set.of());
  }

  public static TableState absent() {
    return new TableState(false, Map.of());
  }

  public static TableState empty() {
    return new TableState(true, Map.of());
  }

  public Map<String, String> get(String name) {
    return elements.get(name);
  }

  /** Total number of tracked elements (for logs and metrics). */
  public int size() {
    return elements.values().stream().mapToInt(Map::size).sum();
  }

  /** A copy with a different heartbeat. */
  TableState withAlive(Set<String> a) {
    return new TableState(present, elements, a);
  }

  /** A copy whose {@code owned4}/{@code owned6} sets hold exactly {@code live}. */
  TableState withOwned(Set<String> live) {
    Map<String, Map<String, String>> e = new HashMap<>(elements);
    Map<String, String> o4 = new HashMap<>();
    Map<String, String> o6 = new HashMap<>();
    for (String v : live) {
      (v.indexOf(':') >= 0 ? o6 : o4).put(v, "");
    }
    e.put("owned4", o4);
    e.put("owned6", o6);
    return new TableState(present, e, alive);
  }

  /** A copy without the steering of the pods of {@code f} steered with one of {@code marks}. */
  TableState withoutSteering(Family f, Set<String> marks) {
    if (marks.isEmpty()) {
      return this;
    }
    Map<String, Map<String, String>> e = new HashMap<>(elements);
    for (String name : List.of("steer" + f.suffix, "steer" + f.suffix + "s")) {
      Map<String, String> m = new HashMap<>(elements.get(name));
      m.values().removeIf(marks::contains);
      e.put(name, m);
    }
    return new TableState(present, e, alive);
  }

  /** The VIPs of both {@code vips} sets. */
  Set<String> vips() {
    Set<String> s = new HashSet<>(elements.get("vips4").keySet());
    s.addAll(elements.get("vips6").keySet());
    return s;
  }

  /** The same VIPs in order (for what is rendered or logged). */
  static List<String> sorted(java.util.Collection<String> c) {
    return List.copyOf(new TreeSet<>(c));
  }
}
