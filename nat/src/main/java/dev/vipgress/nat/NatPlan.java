package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the kernel of one node should hold for a {@link NodeDesired}: the table's elements, each
 * owned VIP's deadline, and the routing table of every owner slot. Pure: no I/O, no clock.
 *
 * <p>A pod egresses as at most one VIP per family. When the desired state says otherwise the lowest
 * VIP wins, a VIP this node owns wins over steering, and the loser is listed in {@link
 * #conflicts()}.
 *
 * @param table the desired elements (the {@code owned} sets hold every VIP; the applier leaves out
 *     those past their deadline)
 * @param deadlines VIP (nft spelling) → fencing deadline ({@link System#nanoTime()})
 * @param slots owner slot → the owner node and its next hops
 * @param clusterRanges the normalised cluster ranges (for the throw routes)
 * @param conflicts human-readable notes about inputs that were ignored
 * @param refused elements of the desired state the kernel must not get (a next hop that is this
 *     node's own address); their pods stay held closed
 */
public record NatPlan(
    TableState table,
    Map<String, Long> deadlines,
    SortedMap<Integer, SlotRoute> slots,
    List<Cidr> clusterRanges,
    List<String> conflicts,
    List<ApplyResult.Refused> refused) {

  /**
   * The routing table of one owner slot.
   *
   * @param owner the owner node's name
   * @param nextHop4 the owner's IPv4 next hop, or null if no IPv4 pod is steered to it
   * @param nextHop6 the owner's IPv6 next hop, or null
   * @param tunnel the owner's VXLAN endpoint (its underlay IPv4), or null for a plain next hop
   */
  public record SlotRoute(
      String owner, InetAddress nextHop4, InetAddress nextHop6, InetAddress tunnel) {
    public SlotRoute(String owner, InetAddress nextHop4, InetAddress nextHop6) {
      this(owner, nextHop4, nextHop6, null);
    }

    InetAddress nextHop(Family f) {
      return f == Family.V4 ? nextHop4 : nextHop6;
    }

    SlotRoute with(Family f, InetAddress nh) {
      return f == Family.V4
          ? new SlotRoute(owner, nh, nextHop6, tunnel)
          : new SlotRoute(owner, nextHop4, nh, tunnel);
    }
  }

  public NatPlan {
    deadlines = Collections.unmodifiableMap(deadlines);
    slots = Collections.unmodifiableSortedMap(new TreeMap<>(slots));
    clusterRanges = List.copyOf(clusterRanges);
    conflicts = List.copyOf(conflicts);
    refused = List.copyOf(refused);
  }

  /** The plan for a node that has none of the steering next hops among its own addresses. */
  public static NatPlan of(
      NodeDesired desired, NatConfig config, Map<String, Integer> slotOfOwner) {
    return of(desired, config, slotOfOwner, Set.of());
  }

  /**
   * Computes the plan.
   *
   * @param slotOfOwner owner node → slot, as assigned by {@link #assignSlots}; every owner named in
   *     {@code desired.steering()} must have one
   * @param localAddresses this node's own addresses: a steering next hop among them is refused
   */
  public static NatPlan of(
      NodeDesired desired,
      NatConfig config,
      Map<String, Integer> slotOfOwner,
      Set<InetAddress> localAddresses) {
    OwnedElements owned = new OwnedElements();
    owned.update(desired.owned());
    return of(owned, desired, config, slotOfOwner, localAddresses);
  }

  /**
   * The plan with the owned part taken from {@code owned}, already updated to {@code
   * desired.owned()}: its element maps and deadlines are shared, not copied (the plan follows
   * {@code owned}'s later updates; use it before the next one). The rest — cluster ranges, steering
   * and held-closed backends, all bounded by the node's own pods — is computed here.
   */
  static NatPlan of(
      OwnedElements owned,
      NodeDesired desired,
      NatConfig config,
      Map<String, Integer> slotOfOwner,
      Set<InetAddress> localAddresses) {
    List<String> conflicts = owned.conflicts();
    List<ApplyResult.Refused> refused = new ArrayList<>();
    Map<String, Map<String, String>> el = new HashMap<>(owned.elements());
    for (String n : TableState.TRACKED) {
      el.computeIfAbsent(n, k -> new HashMap<>());
    }
    List<Cidr> cluster = normalise(desired.clusterRanges());
    for (Cidr c : cluster) {
      el.get("cluster" + c.family().suffix).put(key(c), "");
    }

    // the steering that can be installed, and per owner the one way to reach it
    Map<InetAddress, Steer> steerable = new HashMap<>();
    Map<String, SlotRoute> routeOf = new HashMap<>();
    for (Map.Entry<InetAddress, Steer> e : desired.steering().entrySet()) {
      InetAddress pod = e.getKey();
      Steer s = e.getValue();
      Family f = Family.of(pod);
      String p = Addresses.format(pod);
      InetAddress egressVip = owned.egressVip(pod);
      if (egressVip != null) {
        conflicts.add(
            "pod "
                + p
                + " is steered to "
                + s.ownerNode()
                + " but backs owned VIP "
                + Addresses.format(egressVip)
                + "; it egresses here");
        continue;
      }
      if (Family.of(s.ownerNextHop()) != f || Family.of(s.vip()) != f) {
        conflicts.add("pod " + p + " is steered across address families; ignored");
        continue;
      }
      if (localAddresses.contains(s.ownerNextHop())) {
        refused.add(
            new ApplyResult.Refused(
                "steer "
                    + p
                    + " to "
                    + s.ownerNode()
                    + " via "
                    + Addresses.format(s.ownerNextHop()),
                "the next hop is this node's own address (a stale or wrong owners view: this node"
                    + " does not own VIP "
                    + Addresses.format(s.vip())
                    + "); the pod is held closed until the owner is known"));
        continue;
      }
      if (s.tunnelled() && !config.vxlan()) {
        conflicts.add(
            "pod "
                + p
                + " must reach owner "
                + s.ownerNode()
                + " through VXLAN but this node has no tunnel (NatConfig.vxlanLocal unset);"
                + " not steered");
        continue;
      }
      if (!slotOfOwner.containsKey(s.ownerNode())) {
        throw new IllegalArgumentException("no slot assigned to owner " + s.ownerNode());
      }
      steerable.put(pod, s);
      // the lowest tunnel endpoint (none: directly) and the lowest next hop per family win
      SlotRoute r = routeOf.get(s.ownerNode());
      if (r == null) {
        r = new SlotRoute(s.ownerNode(), null, null, s.tunnelEndpoint());
      } else if (lower(s.tunnelEndpoint(), r.tunnel())) {
        r = new SlotRoute(s.ownerNode(), r.nextHop4(), r.nextHop6(), s.tunnelEndpoint());
      }
      if (r.nextHop(f) == null || lower(s.ownerNextHop(), r.nextHop(f))) {
        r = r.with(f, s.ownerNextHop());
      }
      routeOf.put(s.ownerNode(), r);
    }
    SortedMap<Integer, SlotRoute> slots = new TreeMap<>();
    routeOf.forEach((owner, r) -> slots.put(slotOfOwner.get(owner), r));
    for (Map.Entry<InetAddress, Steer> e : steerable.entrySet()) {
      Steer s = e.getValue();
      Family f = Family.of(e.getKey());
      String p = Addresses.format(e.getKey());
      int slot = slotOfOwner.get(s.ownerNode());
      SlotRoute r = slots.get(slot);
      if (!Objects.equals(r.tunnel(), s.tunnelEndpoint())) {
        conflicts.add(
            "owner "
                + s.ownerNode()
                + " is reached "
                + how(r.tunnel())
                + " and "
                + how(s.tunnelEndpoint())
                + "; pod "
                + p
                + " follows the first");
      }
      if (!r.nextHop(f).equals(s.ownerNextHop())) {
        conflicts.add(
            "owner "
                + s.ownerNode()
                + " has next hops "
                + Addresses.format(r.nextHop(f))
                + " and "
                + Addresses.format(s.ownerNextHop())
                + "; using "
                + Addresses.format(r.nextHop(f)));
      }
      if (r.tunnel() != null && config.mssClamp()) {
        el.get("tunnel" + f.suffix).put(p, "");
      }
      String mark = mark(config.markOf(slot));
      List<Cidr> scope = scopeOf(s.scope(), f);
      if (s.scope().isEmpty()) {
        el.get("steer" + f.suffix).put(p, mark);
      } else {
        for (Cidr c : scope) {
          el.get("steer" + f.suffix + "s").put(p + " . " + key(c), mark);
        }
      }
    }
    List<InetAddress> steeredPods = new ArrayList<>(desired.steering().keySet());
    Map<InetAddress, Set<Cidr>> failClosed = new LinkedHashMap<>(desired.egressBackends());
    for (InetAddress pod : steeredPods) {
      failClosed.putIfAbsent(pod, desired.steering().get(pod).scope());
    }
    for (Map.Entry<InetAddress, Set<Cidr>> e : failClosed.entrySet()) {
      Family f = Family.of(e.getKey());
      String p = Addresses.format(e.getKey());
      if (e.getValue().isEmpty()) {
        el.get("backends" + f.suffix).put(p, "");
        continue;
      }
      List<Cidr> scope = scopeOf(e.getValue(), f);
      if (scope.isEmpty()) {
        conflicts.add("backend " + p + " has no scope prefix of its own family; not held closed");
      }
      for (Cidr c : scope) {
        el.get("backends" + f.suffix + "s").put(p + " . " + key(c), "");
      }
    }
    TableState table = new TableState(true, el);
    conflicts.sort(null);
    return new NatPlan(table, owned.deadlines(), slots, cluster, conflicts, refused);
  }

  /**
   * Gives every owner node a slot, keeping the slots owners already have, then the slot whose
   * routing table in the kernel already points at the owner's next hop (after a restart), then the
   * lowest slot that is neither taken nor {@code avoid} (slots released in this same apply are not
   * reused at once, so packets never follow a table that is being repointed).
   *
   * @param current owner → slot before this apply
   * @param kernelNextHops slot → next hops its routing tables hold in the kernel
   * @throws IllegalStateException when there are more owners than {@link NatConfig#maxSlots()}
   */
  public static Map<String, Integer> assignSlots(
      NodeDesired desired,
      NatConfig config,
      Map<String, Integer> current,
      Map<Integer, Set<InetAddress>> kernelNextHops) {
    SortedMap<String, Set<InetAddress>> owners = new TreeMap<>();
    for (Steer s : desired.steering().values()) {
      owners.computeIfAbsent(s.ownerNode(), k -> new HashSet<>()).add(s.ownerNextHop());
    }
    Map<String, Integer> out = new TreeMap<>();
    Set<Integer> taken = new TreeSet<>();
    for (String o : owners.keySet()) {
      Integer s = current.get(o);
      if (s != null) {
        out.put(o, s);
        taken.add(s);
      }
    }
    Set<Integer> avoid = new HashSet<>(current.values());
    for (Map.Entry<String, Set<InetAddress>> e : owners.entrySet()) {
      if (out.containsKey(e.getKey())) {
        continue;
      }
      for (Map.Entry<Integer, Set<InetAddress>> k : new TreeMap<>(kernelNextHops).entrySet()) {
        if (!taken.contains(k.getKey())
            && !avoid.contains(k.getKey())
            && !Collections.disjoint(k.getValue(), e.getValue())) {
          out.put(e.getKey(), k.getKey());
          taken.add(k.getKey());
          break;
        }
      }
    }
    int next = 0;
    for (String o : owners.keySet()) {
      if (out.containsKey(o)) {
        continue;
      }
      while (next < config.maxSlots()
          && (taken.contains(next) || avoid.contains(next) || kernelNextHops.containsKey(next))) {
        next++;
      }
      if (next >= config.maxSlots()) {
        // fall back to slots only avoided, never to taken ones
        next = 0;
        while (next < config.maxSlots() && taken.contains(next)) {
          next++;
        }
        if (next >= config.maxSlots()) {
          throw new IllegalStateException(
              "more owner nodes ("
                  + owners.size()
                  + ") than steering slots ("
                  + config.maxSlots()
                  + "); widen fwmarkMask");
        }
      }
      out.put(o, next);
      taken.add(next);
    }
    return out;
  }

  /** Whether {@code a} orders before {@code b}; no address (null) orders first. */
  private static boolean lower(InetAddress a, InetAddress b) {
    if (a == null || b == null) {
      return a == null && b != null;
    }
    return Addresses.COMPARATOR.compare(a, b) < 0;
  }

  private static String how(InetAddress tunnel) {
    return tunnel == null ? "directly" : "through VXLAN to " + Addresses.format(tunnel);
  }

  /** The cluster ranges without prefixes covered by other ones, sorted. */
  static List<Cidr> normalise(Set<Cidr> in) {
    List<Cidr> sorted = new ArrayList<>(new TreeSet<>(in));
    List<Cidr> out = new ArrayList<>();
    for (Cidr c : sorted) {
      boolean covered = false;
      for (Cidr d : sorted) {
        if (!d.equals(c) && d.contains(c)) {
          covered = true;
          break;
        }
      }
      if (!covered) {
        out.add(c);
      }
    }
    return out;
  }

  static List<Cidr> scopeOf(Set<Cidr> scope, Family f) {
    Set<Cidr> same = new HashSet<>();
    for (Cidr c : scope) {
      if (c.family() == f) {
        same.add(c);
      }
    }
    return normalise(same);
  }

  /** nft's spelling of an interval element: a bare address for a host prefix. */
  static String key(Cidr c) {
    return c.prefix() == c.family().bits ? Addresses.format(c.address()) : c.toString();
  }

  static String mark(int m) {
    return String.format("0x%08x", m);
  }
}
