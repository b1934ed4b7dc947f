package dev.vipgress.sim;

import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.OwnedVip;
import dev.vipgress.nat.Steer;
import dev.vipgress.speaker.reconcile.Datapath;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one machine's kernel holds of the egress datapath, as a packet sees it. It outlives the
 * daemon process (a crash leaves it in place); SNAT state of a VIP is dead once the VIP's deadline
 * passed on the machine's clock (the nft heartbeat), whatever the daemon does. It refuses what the
 * kernel refuses: a steering route whose next hop is one of the machine's own addresses is left out
 * (its pod stays held closed) and reported, the rest is installed, as the nat backend does with
 * {@code ip -force -batch}; {@code -Dsim.atomicBatch=true} models the backend before issue 10 (the
 * whole batch refused, nothing of that apply installed: bug 0).
 */
final class KernelModel implements Datapath {
  /**
   * Whether the kernel drops local egress backends that are neither SNATed nor steered (the nat
   * module's fail-closed rule); {@code -Dsim.failClosed=false} puts bug 5 back.
   */
  static volatile boolean failClosed = true;

  /** Whether one refused line refuses the whole apply ({@code -Dsim.atomicBatch=true}, bug 0). */
  static volatile boolean atomicBatch;

  private final Machine machine;
  private NodeDesired state = NodeDesired.empty();

  /** Local backend pods this kernel has been told about (pod → VIP): egress must never leak. */
  private final Map<InetAddress, InetAddress> known = new TreeMap<>(KernelModel::compare);

  private long applies;
  private long refusals;

  KernelModel(Machine machine) {
    this.machine = machine;
  }

  /** How a packet of a local pod to an external destination leaves this machine. */
  sealed interface Egress {}

  /** SNATed here to {@code vip}. */
  record Snat(InetAddress vip) implements Egress {}

  /** Routed to another node by a steering route. */
  record Steered(InetAddress nextHop, InetAddress vip) implements Egress {}

  /** Dropped (fail closed). */
  record Dropped() implements Egress {}

  /** Leaves with the pod's own address (or the node's, under a CNI masquerade). */
  record Leaked() implements Egress {}

  @Override
  public ApplyResult apply(NodeDesired desired) {
    applies++;
    spend();
    Map<InetAddress, Steer> steering = new TreeMap<>(KernelModel::compare);
    List<ApplyResult.Refused> refused = new ArrayList<>();
    for (var e : desired.steering().entrySet()) {
      Steer s = e.getValue();
      if (!machine.addresses().contains(s.ownerNextHop())) {
        steering.put(e.getKey(), s);
        continue;
      }
      refusals++;
      String line = "route replace default via " + Addresses.format(s.ownerNextHop());
      machine.world.note(machine.name + " kernel: REFUSED " + line + " (own address)");
      if (atomicBatch) {
        throw new IllegalStateException(
            "ip -batch: " + line + ": Nexthop has invalid gateway (it is this node's own address)");
      }
      refused.add(new ApplyResult.Refused(line, "the next hop is this node's own address"));
    }
    NodeDesired installed =
        refused.isEmpty()
            ? desired
            : new NodeDesired(
                desired.owned(), steering, desired.clusterRanges(), desired.egressBackends());
    if (machine.world.tracing()) {
      machine.world.note(machine.name + " kernel: apply " + describe(installed));
    }
    state = installed;
    machine.world.dirty = true;
    learn(installed);
    return new ApplyResult(refused);
  }

  /**
   * A kernel transaction takes time (render, spawn nft/ip, commit: milliseconds, sometimes
   * hundreds): the loop that called it runs nothing else meanwhile.
   */
  private void spend() {
    World w = machine.world;
    if (w.context instanceof SimProcess.SimScheduler loop) {
      loop.busy(w.chance(0.1) ? w.nanosBetween(50, 400) : w.micros(500, 20_000));
    }
  }

  @Override
  public void refresh(NodeDesired desired) {
    spend();
    Set<OwnedVip> owned = new LinkedHashSet<>();
    Set<InetAddress> installed = new HashSet<>();
    for (OwnedVip o : state.owned()) {
      installed.add(o.vip());
    }
    for (OwnedVip o : desired.owned()) {
      if (installed.contains(o.vip())) {
        owned.add(o);
      }
    }
    for (OwnedVip o : state.owned()) {
      if (owned.stream().noneMatch(n -> n.vip().equals(o.vip()))) {
        owned.add(o);
      }
    }
    state = withOwned(owned);
    machine.world.dirty = true;
  }

  @Override
  public void close(boolean handingOver) {
    machine.world.note(machine.name + " kernel: close handingOver=" + handingOver);
    if (!handingOver) {
      machine.world.dirty = true;
      state = NodeDesired.empty();
    }
  }

  private NodeDesired withOwned(Set<OwnedVip> owned) {
    return new NodeDesired(owned, state.steering(), state.clusterRanges(), state.egressBackends());
  }

  private void learn(NodeDesired d) {
    for (OwnedVip o : d.owned()) {
      for (InetAddress pod : o.backends()) {
        if (machine.cluster.truth.podNode(pod).filter(machine.name::equals).isPresent()) {
          known.put(pod, o.vip());
        }
      }
    }
    for (var e : d.steering().entrySet()) {
      known.put(e.getKey(), e.getValue().vip());
    }
    for (InetAddress pod : d.egressBackends().keySet()) {
      machine.cluster.truth.podVip(pod).ifPresent(v -> known.put(pod, v));
    }
  }

  /** The fail-closed set of the datapath (pods dropped unless SNATed or steered). */
  static Map<InetAddress, Set<dev.vipgress.nat.Cidr>> guarded(NodeDesired d) {
    return failClosed ? d.egressBackends() : Map.of();
  }

  static int compare(InetAddress a, InetAddress b) {
    byte[] x = a.getAddress();
    byte[] y = b.getAddress();
    return x.length != y.length
        ? Integer.compare(x.length, y.length)
        : java.util.Arrays.compareUnsigned(x, y);
  }

  boolean knows(InetAddress pod) {
    return known.containsKey(pod);
  }

  /** Whether this kernel SNATs to {@code vip} now (its deadline has not passed). */
  boolean snats(InetAddress vip) {
    long now = machine.localNanos();
    for (OwnedVip o : state.owned()) {
      if (o.vip().equals(vip) && o.deadlineNanos() - now > 0) {
        return true;
      }
    }
    return false;
  }

  /** Whether this kernel SNATs {@code pod}'s traffic to {@code vip} now. */
  boolean snats(InetAddress pod, InetAddress vip) {
    long now = machine.localNanos();
    for (OwnedVip o : state.owned()) {
      if (o.vip().equals(vip) && o.backends().contains(pod) && o.deadlineNanos() - now > 0) {
        return true;
      }
    }
    return false;
  }

  /** The path of a packet of local pod {@code pod} to an external host. */
  Egress egress(InetAddress pod) {
    long now = machine.localNanos();
    for (OwnedVip o : state.owned()) {
      if (o.backends().contains(pod) && o.deadlineNanos() - now > 0) {
        return new Snat(o.vip());
      }
    }
    Steer s = state.steering().get(pod);
    if (s != null) {
      return new Steered(s.ownerNextHop(), s.vip());
    }
    if (guarded(state).containsKey(pod)) {
      return new Dropped();
    }
    return new Leaked();
  }

  /** A packet of another node's pod, steered here: SNATed, or dropped by the postrouting rule. */
  boolean snatsForeign(InetAddress pod, InetAddress vip) {
    return snats(pod, vip);
  }

  private static String describe(NodeDesired d) {
    StringBuilder b = new StringBuilder("snat[");
    d.owned().stream()
        .map(o -> Addresses.format(o.vip()) + "/" + o.backends().size())
        .sorted()
        .forEach(x -> b.append(x).append(' '));
    b.append("] steer[");
    d.steering().entrySet().stream()
        .map(e -> Addresses.format(e.getKey()) + ">" + e.getValue().ownerNode())
        .sorted()
        .forEach(x -> b.append(x).append(' '));
    b.append("] closed[");
    guarded(d).keySet().stream()
        .map(Addresses::format)
        .sorted()
        .forEach(x -> b.append(x).append(' '));
    return b.append(']').toString();
  }

  NodeDesired state() {
    return state;
  }

  long applies() {
    return applies;
  }

  long refusals() {
    return refusals;
  }
}
