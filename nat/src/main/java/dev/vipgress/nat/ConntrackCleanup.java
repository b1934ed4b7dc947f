package dev.vipgress.nat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which conntrack entries to delete when ownership changes (datapath.md, "Failover"). Pure: from
 * the table before and after a transaction to {@code conntrack} argument lists.
 *
 * <ul>
 *   <li>a VIP released: entries whose reply destination is the VIP (its SNAT bindings), so the old
 *       owner's local pods re-bind with identity SNAT and follow the steering to the new owner;
 *   <li>a VIP newly owned: entries whose reply destination is the VIP (bindings left from an
 *       earlier ownership, or packets a stale owner forwarded already SNATed) and entries whose
 *       original destination is the VIP (created by the remote end before this node owned it);
 *   <li>pods that were steered elsewhere and are now SNATed here: their entries, which carry the
 *       identity SNAT binding from when this node only forwarded;
 *   <li>pods that just became backends (newly steered or SNATed, neither before): their entries,
 *       which carry the binding from before (a CNI masquerade to the node IP, or none). Without
 *       this, a flow the pod opened before — or a new one that happens to reuse its 5-tuple — keeps
 *       leaving with the old source address until its entry times out.
 * </ul>
 */
public final class ConntrackCleanup {
  private ConntrackCleanup() {}

  /** Argument lists for {@code conntrack}, in order. */
  public static List<List<String>> commands(TableState before, TableState after) {
    return commands(KernelElements.of(before), ElementChanges.between(before, after));
  }

  /**
   * Argument lists for {@code conntrack}, in order, for the transaction {@code changes} applied to
   * {@code before}: only the VIPs and pods the change names are looked at.
   */
  static List<List<String>> commands(KernelElements before, ElementChanges changes) {
    List<List<String>> out = new ArrayList<>();
    for (Family f : Family.values()) {
      String vips = "vips" + f.suffix;
      Set<String> gone = new HashSet<>(changes.deleted(vips));
      Set<String> come = new HashSet<>(changes.added(vips).keySet());
      Set<String> both = new HashSet<>(gone);
      both.retainAll(come);
      gone.removeAll(both);
      come.removeAll(both);
      for (String v : TableState.sorted(gone)) {
        out.add(cmd(f, "-q", v));
      }
      for (String v : TableState.sorted(come)) {
        out.add(cmd(f, "-q", v));
        out.add(cmd(f, "-d", v));
      }
      String steer = "steer" + f.suffix;
      String snat = "snat" + f.suffix;
      // a pod's membership after the change: the keys it had, less the deleted, plus the added
      Map<String, Integer> steerAfter = new HashMap<>();
      Map<String, Integer> snatAfter = new HashMap<>();
      for (String m : List.of(steer, steer + "s", snat, snat + "s")) {
        Map<String, Integer> after = m.startsWith("steer") ? steerAfter : snatAfter;
        for (String k : changes.deleted(m)) {
          after.merge(KernelElements.pod(k), -1, Integer::sum);
        }
        for (String k : changes.added(m).keySet()) {
          after.merge(KernelElements.pod(k), 1, Integer::sum);
        }
      }
      Set<String> candidates = new HashSet<>(steerAfter.keySet());
      candidates.addAll(snatAfter.keySet());
      List<String> moved = new ArrayList<>();
      List<String> fresh = new ArrayList<>();
      for (String p : candidates) {
        boolean steeredBefore = before.hasPod(steer, p);
        boolean snattedBefore = before.hasPod(snat, p);
        boolean steeredAfter = count(before, steer, p) + steerAfter.getOrDefault(p, 0) > 0;
        boolean snattedAfter = count(before, snat, p) + snatAfter.getOrDefault(p, 0) > 0;
        if (steeredBefore && snattedAfter) {
          moved.add(p);
        }
        if ((steeredAfter || snattedAfter) && !(steeredBefore || snattedBefore)) {
          fresh.add(p);
        }
      }
      for (String p : TableState.sorted(moved)) {
        out.add(cmd(f, "-s", p));
      }
      for (String p : TableState.sorted(fresh)) {
        out.add(cmd(f, "-s", p));
      }
    }
    return out;
  }

  /** How many keys {@code pod} has in {@code map} and its scoped twin. */
  private static int count(KernelElements k, String map, String pod) {
    return k.podKeys(map, pod) + k.podKeys(map + "s", pod);
  }

  private static List<String> cmd(Family f, String flag, String addr) {
    return List.of("-D", "-f", f.name, flag, addr);
  }

  /**
   * Keeps only the commands that would delete something, judged from one {@code conntrack -L -f
   * <family>} listing — so an ownership change of 10,000 VIPs costs one listing plus one run per
   * VIP or pod that actually has entries, not 20,000 runs.
   */
  public static List<List<String>> present(List<List<String>> cmds, Family f, String listing) {
    Set<String> origSrc = new java.util.HashSet<>();
    Set<String> origDst = new java.util.HashSet<>();
    Set<String> replyDst = new java.util.HashSet<>();
    for (String line : listing.split("\n")) {
      List<String> src = new ArrayList<>();
      List<String> dst = new ArrayList<>();
      for (String w : line.split("\\s+")) {
        if (w.startsWith("src=")) {
          src.add(canonical(w.substring(4)));
        } else if (w.startsWith("dst=")) {
          dst.add(canonical(w.substring(4)));
        }
      }
      if (src.size() >= 2 && dst.size() >= 2) {
        origSrc.add(src.get(0));
        origDst.add(dst.get(0));
        replyDst.add(dst.get(1));
      }
    }
    List<List<String>> out = new ArrayList<>();
    for (List<String> c : cmds) {
      if (!c.get(2).equals(f.name)) {
        continue;
      }
      String addr = canonical(c.get(4));
      boolean hit =
          switch (c.get(3)) {
            case "-q" -> replyDst.contains(addr);
            case "-d" -> origDst.contains(addr);
            case "-s" -> origSrc.contains(addr);
            default -> true;
          };
      if (hit) {
        out.add(c);
      }
    }
    return out;
  }

  private static String canonical(String a) {
    try {
      return Addresses.format(Addresses.parse(a));
    } catch (IllegalArgumentException e) {
      return a;
    }
  }

  /** Whether a {@code conntrack -D} run succeeded (it exits 1 when nothing matched). */
  static boolean ok(CommandRunner.Result r) {
    return r.ok() || r.stderr().contains("0 flow entries have been deleted");
  }

  /** For close(): drop the SNAT bindings of every VIP this node owned. */
  static List<List<String>> releaseAll(TableState before) {
    return commands(before, TableState.empty());
  }

  static Map<String, Integer> count(List<List<String>> cmds) {
    Map<String, Integer> m = new java.util.TreeMap<>();
    for (List<String> c : cmds) {
      m.merge(c.get(3), 1, Integer::sum);
    }
    return m;
  }
}
