package dev.vipgress.nat;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The element contents of the table's sets and maps, in nft's own text spelling (keys like {@code
 * 10.244.1.2}, {@code 10.244.1.2 . 0.0.0.0/0}; values like {@code 192.168.100.200}, {@code
 * 0x00010000}; plain sets map every key to the empty string). The {@code owned} sets are not here:
 * their elements carry expiry and are rewritten on every transaction.
 *
 * @param present whether the table exists at all
 * @param elements set or map name → key → value
 * @param owned VIPs currently in the {@code owned4}/{@code owned6} sets (not yet expired)
 * @param held pods in the {@code held4}/{@code held6} sets (released backends; may have expired)
 */
public record TableState(
    boolean present,
    SortedMap<String, SortedMap<String, String>> elements,
    Set<String> owned,
    Set<String> held) {

  /** The sets and maps whose elements {@link TableState} tracks, in render order. */
  static final java.util.List<String> TRACKED =
      java.util.List.of(
          "cluster4",
          "cluster6",
          "vips4",
          "vips6",
          "snat4",
          "snat6",
          "snat4s",
          "snat6s",
          "steer4",
          "steer6",
          "steer4s",
          "steer6s");

  public TableState {
    SortedMap<String, SortedMap<String, String>> copy = new TreeMap<>();
    for (String name : TRACKED) {
      SortedMap<String, String> m = elements.get(name);
      copy.put(
          name, Collections.unmodifiableSortedMap(m == null ? new TreeMap<>() : new TreeMap<>(m)));
    }
    elements = Collections.unmodifiableSortedMap(copy);
    owned = Collections.unmodifiableSet(new TreeSet<>(owned));
    held = Collections.unmodifiableSet(new TreeSet<>(held));
  }

  public TableState(
      boolean present, SortedMap<String, SortedMap<String, String>> elements, Set<String> owned) {
    this(present, elements, owned, Set.of());
  }

  public static TableState absent() {
    return new TableState(false, new TreeMap<>(), Set.of());
  }

  public static TableState empty() {
    return new TableState(true, new TreeMap<>(), Set.of());
  }

  public Map<String, String> get(String name) {
    return elements.get(name);
  }

  /** Total number of tracked elements (for logs and metrics). */
  public int size() {
    return elements.values().stream().mapToInt(Map::size).sum();
  }

  /** A copy with different owned VIPs. */
  TableState withOwned(Set<String> o) {
    return new TableState(present, elements, o, held);
  }

  /** A copy with different held pods. */
  TableState withHeld(Set<String> h) {
    return new TableState(present, elements, owned, h);
  }
}
