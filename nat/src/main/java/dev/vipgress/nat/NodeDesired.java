package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Everything the egress datapath of one node should do.
 *
 * @param owned the VIPs this node owns
 * @param steering local backend pod IP → the owner to steer it to, for VIPs owned elsewhere
 * @param clusterRanges pod CIDRs, service CIDR, node IPs, configured exclusions: never SNATed or
 *     steered
 * @param egressBackends every LOCAL backend pod of an egress VIP, whatever the VIP's ownership, →
 *     the VIP's destination scope (empty: everything outside the cluster ranges). The kernel drops
 *     their packets to those destinations unless this node SNATs them to a live owned VIP or steers
 *     them to an owner: egress fails closed while no owner is known, while the daemon is frozen,
 *     and after it exits handing over. Pods in {@code steering} are added implicitly.
 */
public record NodeDesired(
    Set<OwnedVip> owned,
    Map<InetAddress, Steer> steering,
    Set<Cidr> clusterRanges,
    Map<InetAddress, Set<Cidr>> egressBackends) {
  public NodeDesired {
    owned = Set.copyOf(owned);
    steering = Map.copyOf(steering);
    clusterRanges = Set.copyOf(clusterRanges);
    Map<InetAddress, Set<Cidr>> b = new HashMap<>();
    egressBackends.forEach((k, v) -> b.put(k, Set.copyOf(v)));
    egressBackends = Map.copyOf(b);
  }

  /** Without local egress backends other than the steered pods. */
  public NodeDesired(
      Set<OwnedVip> owned, Map<InetAddress, Steer> steering, Set<Cidr> clusterRanges) {
    this(owned, steering, clusterRanges, Map.of());
  }

  public static NodeDesired empty() {
    return new NodeDesired(Set.of(), Map.of(), Set.of(), Map.of());
  }
}
