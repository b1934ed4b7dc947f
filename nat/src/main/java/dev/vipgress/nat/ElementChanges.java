package dev.vipgress.nat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The element operations that turn one {@link TableState} into another: per set or map, the keys to
 * delete and the elements to add (a changed value is both), each in key order.
 *
 * @param deleted set name → keys to delete
 * @param added set name → key → value to add
 */
record ElementChanges(Map<String, List<String>> deleted, Map<String, Map<String, String>> added) {

  /** Every difference between {@code cur} and {@code want}: a pass over both. */
  static ElementChanges between(TableState cur, TableState want) {
    return between(cur, want, Map.of());
  }

  /**
   * The differences between {@code cur} and {@code want}, looking only at the keys {@code only}
   * names for a set (it knows every key that may differ there) and at every key of the other sets:
   * the cost follows the size of the change for the sets {@code only} covers.
   */
  static ElementChanges between(
      TableState cur, TableState want, Map<String, ? extends Collection<String>> only) {
    Map<String, List<String>> deleted = new HashMap<>();
    Map<String, Map<String, String>> added = new HashMap<>();
    for (String name : TableState.TRACKED) {
      Map<String, String> c = cur.get(name);
      Map<String, String> w = want.get(name);
      Collection<String> keys = only.get(name);
      if (keys == null) {
        if (c == w || (c.isEmpty() && w.isEmpty())) {
          continue;
        }
        Set<String> all = new HashSet<>(c.keySet());
        all.addAll(w.keySet());
        keys = all;
      }
      List<String> del = new ArrayList<>();
      Map<String, String> add = new HashMap<>();
      for (String k : keys) {
        String was = c.get(k);
        String now = w.get(k);
        if (was == null ? now == null : was.equals(now)) {
          continue;
        }
        if (was != null) {
          del.add(k);
        }
        if (now != null) {
          add.put(k, now);
        }
      }
      if (!del.isEmpty()) {
        del.sort(null);
        deleted.put(name, del);
      }
      if (!add.isEmpty()) {
        added.put(name, add);
      }
    }
    return new ElementChanges(deleted, added);
  }

  List<String> deleted(String name) {
    return deleted.getOrDefault(name, List.of());
  }

  Map<String, String> added(String name) {
    return added.getOrDefault(name, Map.of());
  }

  /** The number of element operations. */
  int size() {
    int n = 0;
    for (List<String> d : deleted.values()) {
      n += d.size();
    }
    for (Map<String, String> a : added.values()) {
      n += a.size();
    }
    return n;
  }

  boolean isEmpty() {
    return deleted.isEmpty() && added.isEmpty();
  }
}
