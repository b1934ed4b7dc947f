package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A line format for a {@link NodeDesired}, for {@link NatAgentMain} and lab tests:
 *
 * <pre>
 * generation 7
 * cluster 10.244.0.0/16
 * own 192.168.100.200 backends=10.244.1.2,10.244.3.2 [scope=0.0.0.0/0]
 * steer 10.244.3.2 owner=node1 via=192.168.100.11 vip=192.168.100.200 [scope=...] [vxlan=192.168.100.11]
 * backend 10.244.1.2 [scope=...]
 * </pre>
 *
 * {@code backend} names a local egress backend ({@link NodeDesired#egressBackends()}): held closed
 * unless SNATed here or steered.
 *
 * <p>{@code vxlan=} names the owner's underlay IPv4: the pod reaches it through the VXLAN tunnel.
 *
 * <p>Deadlines are not in the text: the agent sets them from its own TTL.
 */
public record DesiredStateText(long generation, NodeDesired desired) {

  /** Parses the text; every owned VIP gets {@code deadlineNanos}. */
  public static DesiredStateText parse(String text, long deadlineNanos) {
    long gen = 0;
    Set<OwnedVip> owned = new LinkedHashSet<>();
    Map<InetAddress, Steer> steering = new HashMap<>();
    Set<Cidr> cluster = new HashSet<>();
    Map<InetAddress, Set<Cidr>> backends = new HashMap<>();
    int n = 0;
    for (String raw : text.split("\n")) {
      n++;
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] w = line.split("\\s+");
      Map<String, String> kv = new HashMap<>();
      for (int i = 2; i < w.length; i++) {
        int eq = w[i].indexOf('=');
        if (eq < 0) {
          throw new IllegalArgumentException("line " + n + ": expected key=value: " + w[i]);
        }
        kv.put(w[i].substring(0, eq), w[i].substring(eq + 1));
      }
      if (w.length < 2) {
        throw new IllegalArgumentException("line " + n + ": missing argument: " + line);
      }
      switch (w[0]) {
        case "generation" -> gen = Long.parseLong(w[1]);
        case "cluster" -> cluster.add(Cidr.parse(w[1]));
        case "own" ->
            owned.add(
                new OwnedVip(
                    Addresses.parse(w[1]),
                    addresses(kv.get("backends")),
                    deadlineNanos,
                    cidrs(kv.get("scope"))));
        case "steer" ->
            steering.put(
                Addresses.parse(w[1]),
                new Steer(
                    require(kv, "owner", n),
                    Addresses.parse(require(kv, "via", n)),
                    Addresses.parse(require(kv, "vip", n)),
                    cidrs(kv.get("scope")),
                    kv.containsKey("vxlan") ? Addresses.parse(kv.get("vxlan")) : null));
        case "backend" -> backends.put(Addresses.parse(w[1]), cidrs(kv.get("scope")));
        default -> throw new IllegalArgumentException("line " + n + ": unknown keyword " + w[0]);
      }
    }
    return new DesiredStateText(gen, new NodeDesired(owned, steering, cluster, backends));
  }

  private static String require(Map<String, String> kv, String k, int line) {
    String v = kv.get(k);
    if (v == null) {
      throw new IllegalArgumentException("line " + line + ": missing " + k + "=");
    }
    return v;
  }

  private static Set<InetAddress> addresses(String csv) {
    Set<InetAddress> s = new LinkedHashSet<>();
    if (csv != null && !csv.isEmpty()) {
      for (String a : csv.split(",")) {
        s.add(Addresses.parse(a));
      }
    }
    return s;
  }

  private static Set<Cidr> cidrs(String csv) {
    Set<Cidr> s = new LinkedHashSet<>();
    if (csv != null && !csv.isEmpty()) {
      for (String a : csv.split(",")) {
        s.add(Cidr.parse(a));
      }
    }
    return s;
  }
}
