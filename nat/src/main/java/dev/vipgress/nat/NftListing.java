package dev.vipgress.nat;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What {@code nft -j list table inet <name>} showed: the tracked elements and enough of the
 * structure to tell whether it is ours and current.
 *
 * @param state the elements ({@link TableState#absent()} if there is no table)
 * @param sets names of the sets and maps present
 * @param ruleCounts chain → number of rules
 * @param comments every rule comment
 */
public record NftListing(
    TableState state, Set<String> sets, Map<String, Integer> ruleCounts, Set<String> comments) {

  public static NftListing absent() {
    return new NftListing(TableState.absent(), Set.of(), Map.of(), Set.of());
  }

  /** Whether the table has exactly the structure {@code renderer} renders. */
  public boolean matches(NftRenderer renderer) {
    if (!state.present()) {
      return false;
    }
    for (String n : TableState.TRACKED) {
      if (!sets.contains(n)) {
        return false;
      }
    }
    if (!sets.contains("alive")) {
      return false;
    }
    return ruleCounts.equals(renderer.ruleCounts())
        && comments.contains("fence; " + renderer.fingerprint());
  }

  /** Parses the JSON listing of one table. */
  @SuppressWarnings("unchecked")
  public static NftListing parse(String json, String table) {
    Object root = Json.parse(json);
    if (!(root instanceof Map<?, ?> rm) || !(rm.get("nftables") instanceof List<?> items)) {
      throw new IllegalArgumentException("not an nft JSON listing");
    }
    boolean present = false;
    Map<String, Map<String, String>> elements = new java.util.HashMap<>();
    Set<String> alive = new TreeSet<>();
    Set<String> sets = new HashSet<>();
    Map<String, Integer> rules = new TreeMap<>();
    Set<String> comments = new HashSet<>();
    for (Object o : items) {
      if (!(o instanceof Map<?, ?> item)) {
        continue;
      }
      if (item.get("table") instanceof Map<?, ?> tm && table.equals(tm.get("name"))) {
        present = true;
      }
      Object setObj = item.containsKey("set") ? item.get("set") : item.get("map");
      if (setObj instanceof Map<?, ?> sm && table.equals(sm.get("table"))) {
        String name = String.valueOf(sm.get("name"));
        sets.add(name);
        Map<String, String> els = new java.util.HashMap<>();
        if (sm.get("elem") instanceof List<?> elems) {
          for (Object e : elems) {
            if (e instanceof List<?> pair && pair.size() == 2) {
              els.put(element(pair.get(0)), value(pair.get(1)));
            } else {
              els.put(element(e), "");
            }
          }
        }
        if (name.equals("alive")) {
          alive.addAll(els.keySet());
        } else if (TableState.TRACKED.contains(name)) {
          elements.put(name, els);
        }
      }
      if (item.get("chain") instanceof Map<?, ?> cm && table.equals(cm.get("table"))) {
        rules.putIfAbsent(String.valueOf(cm.get("name")), 0);
      }
      if (item.get("rule") instanceof Map<?, ?> rm2 && table.equals(rm2.get("table"))) {
        rules.merge(String.valueOf(rm2.get("chain")), 1, Integer::sum);
        if (rm2.get("comment") instanceof String c) {
          comments.add(c);
        }
      }
    }
    if (!present) {
      return absent();
    }
    return new NftListing(new TableState(true, elements, alive), sets, rules, comments);
  }

  /** nft's text spelling of one element key in JSON form. */
  static String element(Object e) {
    if (e instanceof String s) {
      return s;
    }
    if (e instanceof Number n) {
      return NatPlan.mark(n.intValue());
    }
    if (e instanceof Map<?, ?> m) {
      if (m.get("elem") instanceof Map<?, ?> inner) {
        return element(inner.get("val"));
      }
      if (m.get("prefix") instanceof Map<?, ?> p) {
        return p.get("addr") + "/" + p.get("len");
      }
      if (m.get("range") instanceof List<?> r && r.size() == 2) {
        return element(r.get(0)) + "-" + element(r.get(1));
      }
      if (m.get("concat") instanceof List<?> parts) {
        StringBuilder b = new StringBuilder();
        for (Object part : parts) {
          if (b.length() > 0) {
            b.append(" . ");
          }
          b.append(element(part));
        }
        return b.toString();
      }
    }
    throw new IllegalArgumentException("unknown nft element form: " + e);
  }

  private static String value(Object v) {
    if (v instanceof Number n) {
      return NatPlan.mark(n.intValue());
    }
    return element(v);
  }
}
