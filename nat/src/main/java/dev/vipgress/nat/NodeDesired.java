package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.Map;
import java.util.Set;

/**
 * Everything the egress datapath of one node should do.
 *
 * @param owned the VIPs this node owns
 * @param steering local backend pod IP → the owner to steer it to, for VIPs owned elsewhere
 * @param clusterRanges pod CIDRs, service CIDR, node IPs, configured exclusions: never SNATed or
 *     steered
 */
public record NodeDesired(
    Set<OwnedVip> owned, Map<InetAddress, Steer> steering, Set<Cidr> clusterRanges) {
  public NodeDesired {
    owned = Set.copyOf(owned);
    steering = Map.copyOf(steering);
    clusterRanges = Set.copyOf(clusterRanges);
  }

  public static NodeDesired empty() {
    return new NodeDesired(Set.of(), Map.of(), Set.of());
  }
}
