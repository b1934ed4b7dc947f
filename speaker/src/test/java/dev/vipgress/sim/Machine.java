package dev.vipgress.sim;

import dev.vipgress.nat.Addresses;
import java.net.InetAddress;
import java.util.List;

/**
 * One node of the simulated cluster: its clock (rate skew and an offset of its own: clocks are
 * never comparable across nodes), its link to the API server, its kernel (which outlives daemon
 * processes), its uplink, and the daemon process running on it, if any.
 */
final class Machine {
  final Simulation cluster;
  final World world;
  final String name;
  final int index;
  final ApiLink link;
  final KernelModel kernel;
  private final double rate;
  private final long offset;
  private final List<InetAddress> addresses;
  boolean linkUp = true;
  SimProcess process;
  SimApiServer.Watch watch;

  /**
   * Pod → egress VIP in the cluster objects this machine's reconciler last read (and applied to the
   * kernel in the same task; kept across its crashes, like the kernel state); null before any. A
   * view the node learnt but did not reconcile yet is not held against the kernel.
   */
  java.util.Map<InetAddress, InetAddress> reconciledPodVips;

  Daemon daemon;
  private int generations;

  Machine(Simulation cluster, String name, int index, double rate) {
    this.cluster = cluster;
    this.world = cluster.world;
    this.name = name;
    this.index = index;
    this.rate = rate;
    this.offset = world.random.nextLong(1L << 40);
    this.link = new ApiLink(world, cluster.server);
    this.kernel = new KernelModel(this);
    this.addresses = List.of(Addresses.parse(ipv4()), Addresses.parse(ipv6()));
  }

  String ipv4() {
    return "192.168.100." + (10 + index);
  }

  String ipv6() {
    return "fd76:100::" + Integer.toHexString(0x10 + index);
  }

  List<InetAddress> addresses() {
    return addresses;
  }

  ApiLink link() {
    return link;
  }

  /** This machine's monotonic clock ({@code System.nanoTime()} of its processes). */
  long localNanos() {
    return offset + (long) (world.now() * rate);
  }

  /** A delay on this machine's clock in simulated (global) time. */
  long toGlobal(long localDelayNanos) {
    return (long) Math.ceil(localDelayNanos / rate);
  }

  /** Pod → egress VIP (the lowest of its egress VIPs) in {@code plan}. */
  static java.util.Map<InetAddress, InetAddress> podVips(dev.vipgress.speaker.model.Plan plan) {
    java.util.Map<InetAddress, InetAddress> m = new java.util.HashMap<>();
    plan.vips().values().stream()
        .filter(dev.vipgress.speaker.model.VipSpec::egress)
        .sorted(java.util.Comparator.comparing(dev.vipgress.speaker.model.VipSpec::text))
        .forEach(s -> s.backends().forEach(b -> m.putIfAbsent(b.ip(), s.vip())));
    return m;
  }

  /** The daemon's reconciler read {@code podVips} (and applies what it plans from it now). */
  void reconciling(java.util.Map<InetAddress, InetAddress> podVips) {
    if (reconciledPodVips != podVips) {
      reconciledPodVips = podVips;
      world.dirty = true;
    }
  }

  SimProcess newProcess() {
    process = new SimProcess(this, ++generations);
    return process;
  }

  boolean running() {
    return process != null && process.alive();
  }
}
