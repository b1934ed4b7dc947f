package dev.vipgress.nat;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * What the kernel's tracked sets and maps hold, as the applier last wrote or read them: a mutable
 * mirror that each transaction's {@link ElementChanges} update in place, so a change of one element
 * costs one element, not a copy of 50,000. It also counts, per pod, the keys of the pod-keyed maps
 * and their scoped twins ({@code snat4} and {@code snat4s}: {@code 10.244.1.2 . 8.8.8.0/24}), so
 * whether a pod is SNATed or steered is one lookup.
 */
final class KernelElements {
  private boolean present;
  private final Map<String, Map<String, String>> maps = new HashMap<>();
  private final Map<String, Map<String, Integer>> podKeys = new HashMap<>();
  private Set<String> alive;

  private KernelElements(boolean present, Set<String> alive) {
    this.present = present;
    this.alive = alive;
    for (String n : TableState.TRACKED) {
      maps.put(n, new HashMap<>());
      if (podKeyed(n)) {
        podKeys.put(n, new HashMap<>());
      }
    }
  }

  /** A mirror holding a copy of {@code t}'s elements. */
  static KernelElements of(TableState t) {
    KernelElements k = new KernelElements(t.present(), t.alive());
    for (String n : TableState.TRACKED) {
      t.get(n).forEach((key, value) -> k.put(n, key, value));
    }
    return k;
  }

  private static boolean podKeyed(String name) {
    return name.startsWith("snat") || name.startsWith("steer");
  }

  /** A read-only view that follows later changes. */
  TableState view() {
    return new TableState(present, maps, alive);
  }

  Map<String, String> get(String name) {
    return java.util.Collections.unmodifiableMap(maps.get(name));
  }

  /** Records that the table exists (a transaction created it). */
  void created() {
    present = true;
  }

  Set<String> alive() {
    return alive;
  }

  void alive(Set<String> a) {
    alive = Set.copyOf(a);
  }

  /** Whether {@code pod} has an element in {@code map} ({@code snat4}) or its scoped twin. */
  boolean hasPod(String map, String pod) {
    return podKeys(map, pod) + podKeys(map + "s", pod) > 0;
  }

  /** How many keys of {@code pod} the pod-keyed map {@code name} holds. */
  int podKeys(String name, String pod) {
    return podKeys.get(name).getOrDefault(pod, 0);
  }

  void apply(ElementChanges c) {
    c.deleted().forEach((name, keys) -> keys.forEach(k -> remove(name, k)));
    c.added().forEach((name, m) -> m.forEach((k, v) -> put(name, k, v)));
  }

  void remove(String name, Collection<String> keys) {
    keys.forEach(k -> remove(name, k));
  }

  void put(String name, Collection<String> keys) {
    keys.forEach(k -> put(name, k, ""));
  }

  private void put(String name, String key, String value) {
    if (maps.get(name).put(key, value) == null && podKeys.containsKey(name)) {
      podKeys.get(name).merge(pod(key), 1, Integer::sum);
    }
  }

  private void remove(String name, String key) {
    if (maps.get(name).remove(key) != null && podKeys.containsKey(name)) {
      podKeys.get(name).computeIfPresent(pod(key), (p, n) -> n == 1 ? null : n - 1);
    }
  }

  /** The pod of a pod-keyed element's key. */
  static String pod(String key) {
    int sp = key.indexOf(' ');
    return sp < 0 ? key : key.substring(0, sp);
  }
}
