package dev.vipgress.nat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Set;

/**
 * Where a LOCAL backend pod of a VIP owned by ANOTHER node must send its egress.
 *
 * @param ownerNode the owner's node name; one routing table per owner node
 * @param ownerNextHop the owner node's IP of the pod's family: the next hop on the shared segment,
 *     or (with {@code tunnelEndpoint}) the next hop inside the VXLAN tunnel
 * @param vip the VIP the owner SNATs the pod to
 * @param scope the VIP's destination scope (empty: everything outside the cluster ranges); only
 *     these destinations are steered
 * @param tunnelEndpoint null when the owner is on this node's L2 segment (plain next hop);
 *     otherwise the owner's underlay IPv4 address, and the pod is steered to it through this node's
 *     VXLAN device ({@link NatConfig#vxlanLocal()})
 */
public record Steer(
    String ownerNode,
    InetAddress ownerNextHop,
    InetAddress vip,
    Set<Cidr> scope,
    InetAddress tunnelEndpoint) {
  public Steer {
    Objects.requireNonNull(ownerNode, "ownerNode");
    Objects.requireNonNull(ownerNextHop, "ownerNextHop");
    Objects.requireNonNull(vip, "vip");
    scope = Set.copyOf(scope);
    if (tunnelEndpoint != null && !(tunnelEndpoint instanceof Inet4Address)) {
      throw new IllegalArgumentException(
          "the VXLAN endpoint of owner "
              + ownerNode
              + " must be its IPv4 node address (the tunnel runs over IPv4): "
              + Addresses.format(tunnelEndpoint));
    }
  }

  public Steer(String ownerNode, InetAddress ownerNextHop, InetAddress vip, Set<Cidr> scope) {
    this(ownerNode, ownerNextHop, vip, scope, null);
  }

  public Steer(String ownerNode, InetAddress ownerNextHop, InetAddress vip) {
    this(ownerNode, ownerNextHop, vip, Set.of(), null);
  }

  /** Whether the pod reaches the owner through the VXLAN tunnel. */
  public boolean tunnelled() {
    return tunnelEndpoint != null;
  }
}
