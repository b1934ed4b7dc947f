package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Set;

/**
 * Where a LOCAL backend pod of a VIP owned by ANOTHER node must send its egress.
 *
 * @param ownerNode the owner's node name; one routing table per owner node
 * @param ownerNextHop the owner node's IP on the same segment, of the pod's family
 * @param vip the VIP the owner SNATs the pod to
 * @param scope the VIP's destination scope (empty: everything outside the cluster ranges); only
 *     these destinations are steered
 */
public record Steer(String ownerNode, InetAddress ownerNextHop, InetAddress vip, Set<Cidr> scope) {
  public Steer {
    Objects.requireNonNull(ownerNode, "ownerNode");
    Objects.requireNonNull(ownerNextHop, "ownerNextHop");
    Objects.requireNonNull(vip, "vip");
    scope = Set.copyOf(scope);
  }

  public Steer(String ownerNode, InetAddress ownerNextHop, InetAddress vip) {
    this(ownerNode, ownerNextHop, vip, Set.of());
  }
}
