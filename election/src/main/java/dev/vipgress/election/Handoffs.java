package dev.vipgress.election;

import dev.vipgress.election.Placement.Candidate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Handoff records on a node's liveness Lease ({@value Leases#HANDOFF}): when an incarnation ends
 * (the node released everything, or a peer fenced it), the same write names the nodes that inherit
 * its VIPs, each with its incarnation. A VIP Lease still naming the ended incarnation then belongs
 * to the first of those nodes in the VIP's rendezvous order: every node computes the same owner
 * from one object, so a failover or handover costs one write instead of one per VIP. The heir
 * rewrites the VIP Lease in its own name later (adoption), which keeps chains short.
 *
 * <p>Format: {@code fromIncarnation>node=incarnation,node=incarnation;fromIncarnation>...}. Node
 * names (DNS subdomains) and incarnations (hex) contain none of {@code > = , ;}.
 */
final class Handoffs {
  private Handoffs() {}

  /** The heirs of one ended incarnation. */
  record Entry(String from, Map<String, String> heirs) {
    List<Candidate> candidates() {
      List<Candidate> c = new ArrayList<>(heirs.size());
      for (String n : heirs.keySet()) {
        c.add(new Candidate(n, true));
      }
      return c;
    }

    /** The heir of {@code vip} and the incarnation it inherits under. */
    String[] heirOf(String vip) {
      String n = Placement.first(vip, heirs.keySet());
      return new String[] {n, heirs.get(n)};
    }
  }

  static Map<String, Entry> parse(String s) {
    Map<String, Entry> out = new LinkedHashMap<>();
    if (s == null || s.isBlank()) {
      return out;
    }
    for (String rec : s.split(";")) {
      int gt = rec.indexOf('>');
      if (gt <= 0) {
        continue;
      }
      Map<String, String> heirs = new LinkedHashMap<>();
      for (String h : rec.substring(gt + 1).split(",")) {
        int eq = h.indexOf('=');
        if (eq > 0 && eq < h.length() - 1) {
          heirs.put(h.substring(0, eq), h.substring(eq + 1));
        }
      }
      if (!heirs.isEmpty()) {
        out.put(rec.substring(0, gt), new Entry(rec.substring(0, gt), Map.copyOf(heirs)));
      }
    }
    return out;
  }

  static String encode(Collection<Entry> entries) {
    StringBuilder sb = new StringBuilder();
    for (Entry e : entries) {
      if (sb.length() > 0) {
        sb.append(';');
      }
      sb.append(e.from()).append('>');
      boolean first = true;
      for (var h : new java.util.TreeMap<>(e.heirs()).entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        sb.append(h.getKey()).append('=').append(h.getValue());
      }
    }
    return sb.toString();
  }
}
