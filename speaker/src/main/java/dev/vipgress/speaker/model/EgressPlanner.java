package dev.vipgress.speaker.model;

import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.OwnedVip;
import dev.vipgress.nat.Steer;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Pure: which egress state this node's kernel must hold, from the plan, the VIP owners and the VIPs
 * this node owns (with their fencing deadlines).
 */
public final class EgressPlanner {
  private EgressPlanner() {}

  /** The result: the nat desired state plus problems (a pod claimed by two egress VIPs). */
  public record Result(NodeDesired desired, List<Problem> problems) {}

  public static Result desired(
      Plan plan,
      String self,
      Map<String, String> owners,
      Map<String, NodeInfo> nodes,
      Collection<Cidr> configuredRanges,
      Map<InetAddress, Long> ownedDeadlines) {
    return desired(
        plan, self, owners, nodes, configuredRanges, ownedDeadlines, SteeringPolicy.direct());
  }

  /**
   * The desired state; {@code steering} decides whether local backends reach each owner by a plain
   * next hop or through the VXLAN tunnel.
   */
  public static Result desired(
      Plan plan,
      String self,
      Map<String, String> owners,
      Map<String, NodeInfo> nodes,
      Collection<Cidr> configuredRanges,
      Map<InetAddress, Long> ownedDeadlines,
      SteeringPolicy steering) {
    List<Problem> problems = new ArrayList<>();
    Set<Cidr> ranges = new LinkedHashSet<>(configuredRanges);
    for (NodeInfo n : nodes.values()) {
      for (String ip : n.internalIps()) {
        IpLiteral.parse(ip)
            .ifPresent(a -> ranges.add(new Cidr(a, a instanceof Inet4Address ? 32 : 128)));
      }
    }
    // A pod can egress with one VIP only: the lowest VIP wins, deterministically on every node.
    List<VipSpec> specs =
        plan.vips().values().stream()
            .filter(VipSpec::egress)
            .sorted(Comparator.comparing(VipSpec::text))
            .toList();
    Map<InetAddress, InetAddress> podVip = new HashMap<>();
    for (VipSpec s : specs) {
      for (Backend b : s.backends()) {
        InetAddress prev = podVip.putIfAbsent(b.ip(), s.vip());
        if (prev != null && !prev.equals(s.vip())) {
          for (ServiceKey k : s.services()) {
            problems.add(
                new Problem(
                    k,
                    "BackendInTwoEgressVips",
                    "pod "
                        + Addresses.format(b.ip())
                        + " backs egress VIPs "
                        + Addresses.format(prev)
                        + " and "
                        + s.text()
                        + "; it egresses with "
                        + Addresses.format(prev)));
          }
        }
      }
    }
    Set<OwnedVip> owned = new LinkedHashSet<>();
    Map<InetAddress, Steer> steers = new HashMap<>();
    Map<InetAddress, Set<Cidr>> held = new HashMap<>();
    for (VipSpec s : specs) {
      Set<InetAddress> mine =
          s.backends().stream()
              .map(Backend::ip)
              .filter(ip -> s.vip().equals(podVip.get(ip)))
              .collect(Collectors.toCollection(LinkedHashSet::new));
      // held closed in the kernel whatever the VIP's ownership: SNATed here, steered, or dropped
      for (Backend b : s.backends()) {
        if (self.equals(b.node())
            && mine.contains(b.ip())
            && b.ip().getClass() == s.vip().getClass()) {
          held.put(b.ip(), Set.of());
        }
      }
      Long deadline = ownedDeadlines.get(s.vip());
      if (deadline != null) {
        owned.add(new OwnedVip(s.vip(), mine, deadline, Set.of()));
        continue;
      }
      String owner = owners.get(s.text());
      if (self.equals(owner)) {
        // the owners view names this node, but it holds no deadline for the VIP (acquired but not
        // yet installed, or lost but not yet rewritten): steering to itself would loop; the local
        // backends stay held closed until the view and the deadlines agree
        continue;
      }
      NodeInfo ownerNode = owner == null ? null : nodes.get(owner);
      Optional<InetAddress> hop = nextHop(ownerNode, s.vip());
      InetAddress tunnel = null;
      if (hop.isPresent() && !steering.direct(ownerNode)) {
        Optional<InetAddress> endpoint = SteeringPolicy.tunnelEndpoint(ownerNode);
        if (endpoint.isEmpty()) {
          boolean local = s.backends().stream().anyMatch(b -> self.equals(b.node()));
          if (local) {
            for (ServiceKey k : s.services()) {
              problems.add(
                  new Problem(
                      k,
                      "OwnerUnreachable",
                      "owner "
                          + owner
                          + " of "
                          + s.text()
                          + " is not on this node's L2 segment and has no IPv4 InternalIP for the"
                          + " VXLAN tunnel; backends on "
                          + self
                          + " are not steered (give the Node an IPv4 InternalIP, or set steering:"
                          + " direct if it is reachable on-link)"));
            }
          }
          hop = Optional.empty();
        } else {
          tunnel = endpoint.get();
        }
      }
      for (Backend b : s.backends()) {
        if (self.equals(b.node()) && mine.contains(b.ip()) && hop.isPresent()) {
          steers.put(b.ip(), new Steer(owner, hop.get(), s.vip(), Set.of(), tunnel));
        }
      }
    }
    return new Result(new NodeDesired(owned, steers, ranges, held), problems);
  }

  private static Optional<InetAddress> nextHop(NodeInfo owner, InetAddress vip) {
    if (owner == null) {
      return Optional.empty();
    }
    return owner.internalIps().stream()
        .map(IpLiteral::parse)
        .flatMap(Optional::stream)
        .filter(a -> a.getClass() == vip.getClass())
        .findFirst();
  }
}
