package dev.vipgress.election;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a free VIP should go: rendezvous (highest random weight) hashing over the live eligible
 * candidates, with the VIP's previous holder first when it is still a candidate.
 *
 * <p>Every node computes the same order from the same view, so only the first node acts at once;
 * the others wait a delay that grows with their rank and act only if the VIP is still free by then.
 * Rendezvous hashing spreads VIPs evenly, and when a node dies only its VIPs move (each to the next
 * node in its own order), which keeps placement sticky. Pure functions; no I/O, no clock. The order
 * is part of the protocol (heirs of a handoff are computed with it): every version must agree.
 */
final class Placement {
  private static final ConcurrentHashMap<String, Long> NODE_HASHES = new ConcurrentHashMap<>();

  private Placement() {}

  /** A node that may take a free VIP; {@code certain} if it is known to be a candidate for it. */
  record Candidate(String node, boolean certain) {}

  /**
   * Candidates in the order they should try to take {@code vip}: the previous holder first if it is
   * among them, then by descending rendezvous score (node name breaks ties).
   */
  static List<Candidate> rank(String vip, Collection<Candidate> candidates, String previousHolder) {
    List<Candidate> out = new ArrayList<>(candidates);
    long vipHash = hash(vip);
    out.sort(
        Comparator.comparing((Candidate c) -> !c.node().equals(previousHolder))
            .thenComparing((Candidate c) -> score(vipHash, c.node()), Comparator.reverseOrder())
            .thenComparing(Candidate::node));
    return out;
  }

  /** The first of {@code nodes} for {@code vip} (no previous holder): {@code rank(...).get(0)}. */
  static String first(String vip, Collection<String> nodes) {
    long vipHash = hash(vip);
    String best = null;
    long bestScore = 0;
    for (String n : nodes) {
      long s = score(vipHash, n);
      if (best == null || s > bestScore || (s == bestScore && n.compareTo(best) < 0)) {
        best = n;
        bestScore = s;
      }
    }
    return best;
  }

  /** Whether {@code a} comes before {@code b} for the VIP hashed {@code vipHash}. */
  static boolean before(long vipHash, String a, String b, String previousHolder) {
    if (a.equals(previousHolder) != b.equals(previousHolder)) {
      return a.equals(previousHolder);
    }
    long sa = score(vipHash, a);
    long sb = score(vipHash, b);
    return sa != sb ? sa > sb : a.compareTo(b) < 0;
  }

  /** Rendezvous weight of {@code node} for the VIP whose {@link #hash} is {@code vipHash}. */
  static long score(long vipHash, String node) {
    return mix(vipHash ^ Long.rotateLeft(nodeHash(node), 29));
  }

  private static long nodeHash(String node) {
    Long h = NODE_HASHES.get(node);
    if (h == null) {
      h = hash(node);
      if (NODE_HASHES.size() < 100_000) {
        NODE_HASHES.put(node, h);
      }
    }
    return h;
  }

  /** FNV-1a over UTF-8, finished with a 64-bit avalanche so nearby names spread. */
  static long hash(String s) {
    long h = 0xcbf29ce484222325L;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        return hashBytes(s);
      }
      h ^= c;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  private static long hashBytes(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  /** MurmurHash3 fmix64. */
  static long mix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
