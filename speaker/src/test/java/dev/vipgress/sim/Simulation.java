package dev.vipgress.sim;

import dev.vipgress.election.ElectionConfig;
import dev.vipgress.nat.Addresses;
import dev.vipgress.speaker.model.Backend;
import dev.vipgress.speaker.model.EndpointInfo;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.VipSpec;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * One schedule: a cluster of machines running the real elector and a reconciler over the simulated
 * API server, a seeded storm of faults and Service churn, then quiet. Safety invariants are checked
 * after every event from what a packet would see (the announcers and the kernels); liveness at the
 * end.
 */
final class Simulation {
  /** How long after the faults stop every VIP with a candidate must have its owner. */
  static final long FAILOVER_BOUND_MS = 15_000;

  /** Ownership must not move during the last part of the quiet phase. */
  static final long STABLE_MS = 5_000;

  /**
   * {@code -Dsim.noSigterm=true}: no rolling restarts and no nodes leaving (SIGTERM paths), to look
   * past a SIGTERM bug at the others.
   */
  static final boolean NO_SIGTERM = Boolean.getBoolean("sim.noSigterm");

  record Options(
      long faultMillis,
      long quietMillis,
      Function<SimProcess, Daemon> daemons,
      boolean checkEgress,
      boolean trace) {}

  record Result(
      long seed,
      long steps,
      Optional<String> violation,
      Optional<String> livenessFailure,
      long traceHash,
      List<String> trace) {
    boolean failed() {
      return violation.isPresent() || livenessFailure.isPresent();
    }
  }

  final World world;
  final SimApiServer server;
  final ClusterTruth truth;
  final ElectionConfig config;
  private final long seed;
  private final Options options;
  final Map<String, Machine> machines = new TreeMap<>();
  private final List<String> vipPool = new ArrayList<>();
  private final List<InetAddress> vipAddresses = new ArrayList<>();
  private final Map<String, String> lastOwner = new TreeMap<>();
  private final Map<String, Long> ownerSince = new TreeMap<>();
  private String violation;
  private int nextMachine;
  private int nextPod = 1;
  private int nextService;
  private long healAt;
  private long checkedAt;

  Simulation(long seed, Options options) {
    this.seed = seed;
    this.options = options;
    this.world = new World(seed, options.trace());
    this.server = new SimApiServer(world);
    this.truth = new ClusterTruth(world);
    ElectionConfig.Builder b =
        ElectionConfig.builder("vipgress-system")
            .shutdownTimeout(Duration.ZERO)
            .releasedLeaseGc(Duration.ofMillis(world.nanosBetween(2_000, 8_000) / 1_000_000));
    if (world.chance(0.25)) {
      b.rebalanceInterval(Duration.ofMillis(world.nanosBetween(1_000, 4_000) / 1_000_000));
    }
    this.config = b.build();
  }

  /** A failure of a task of the code under test (an exception a real thread would log). */
  void taskFailure(String node, RuntimeException e) {
    // recorded in the trace by the process; not a violation by itself
  }

  Result run() {
    world.note("config: " + config);
    int n = 3 + world.below(3);
    for (int i = 0; i < n; i++) {
      addMachine(world.nanosBetween(0, 600));
    }
    for (int i = 0; i < 4; i++) {
      vipPool.add("192.168.100." + (200 + i));
    }
    vipPool.add("fd76:100::200");
    vipPool.add("fd76:100::201");
    vipPool.forEach(v -> vipAddresses.add(Addresses.parse(v)));
    int services = 2 + world.below(4);
    for (int i = 0; i < services; i++) {
      createService();
    }
    long faultStart = World.ms(3_000);
    long faultEnd = faultStart + World.ms(options.faultMillis());
    int faults = (int) (options.faultMillis() / 1_200) + world.below(4);
    for (int i = 0; i < faults; i++) {
      long at = faultStart + world.random.nextLong(Math.max(1, faultEnd - faultStart));
      world.at(at, "fault", this::injectFault);
    }
    healAt = faultEnd + World.ms(4_000);
    world.at(healAt, "heal", this::healAll);
    long end = healAt + World.ms(options.quietMillis());
    for (long t = healAt; t <= end; t += World.ms(100)) {
      world.at(t, "sample", this::sampleOwners);
    }
    while (violation == null && world.step(end)) {
      checkSafety();
    }
    String liveness = violation == null ? checkLiveness(end) : null;
    return new Result(
        seed,
        world.steps(),
        Optional.ofNullable(violation),
        Optional.ofNullable(liveness),
        world.traceHash(),
        world.trace());
  }

  // ---- cluster ----

  private Machine addMachine(long startDelay) {
    int idx = nextMachine++;
    String name = "node-" + (char) ('a' + idx);
    double rate = 1 + (world.random.nextDouble() * 2 - 1) * 0.03;
    Machine m = new Machine(this, name, idx, rate);
    machines.put(name, m);
    truth.putNode(new NodeInfo(name, List.of(m.ipv4(), m.ipv6()), true, Map.of()));
    world.after(startDelay, name + " start", () -> startProcess(m));
    return m;
  }

  private void startProcess(Machine m) {
    if (m.running() || !machines.containsKey(m.name)) {
      return;
    }
    SimProcess p = m.newProcess();
    world.note(m.name + " process " + p.generation + " starts");
    m.daemon = options.daemons().apply(p);
    p.post(world.micros(10, 500), m.name + " main", () -> m.daemon.start());
  }

  private void kill(Machine m, String why) {
    if (m.process != null && m.process.alive()) {
      world.note(m.name + " process " + m.process.generation + " " + why);
      m.process.kill();
      if (m.watch != null) {
        m.watch.close();
      }
    }
  }

  private String newPodIp(Machine m, boolean v6) {
    int k = nextPod++;
    return v6
        ? "fd00:244:0:" + Integer.toHexString(m.index + 1) + "::" + Integer.toHexString(k)
        : "10.244." + (m.index + 1) + "." + k;
  }

  private List<Machine> members() {
    return machines.values().stream().filter(m -> truth.nodes.containsKey(m.name)).toList();
  }

  private List<EndpointInfo> pods() {
    List<EndpointInfo> eps = new ArrayList<>();
    int count = world.below(4);
    for (int i = 0; i < count; i++) {
      Machine m = world.pick(members());
      eps.add(new EndpointInfo(newPodIp(m, false), m.name));
      eps.add(new EndpointInfo(newPodIp(m, true), m.name));
    }
    return eps;
  }

  private void createService() {
    ServiceKey key = new ServiceKey(ClusterTruth.NS, "svc-" + nextService++);
    List<String> ips = List.of(world.pick(vipPool));
    truth.putService(key, ClusterTruth.labels(true, world.chance(0.75)), ips);
    truth.putEndpoints(key, pods());
  }

  // ---- faults ----

  private void injectFault() {
    List<Machine> ms = members().stream().toList();
    Machine m = world.pick(ms);
    int kind = world.below(20);
    if (NO_SIGTERM && (kind == 15 || kind == 16)) {
      kind = 0;
    }
    switch (kind) {
      case 0, 1 -> {
        kill(m, "crashes (SIGKILL)");
        world.after(world.nanosBetween(200, 4_000), m.name + " restart", () -> startProcess(m));
      }
      case 2 -> {
        if (m.process != null) {
          SimProcess p = m.process;
          long d = world.nanosBetween(300, 6_000);
          world.note(m.name + " frozen (SIGSTOP) for " + d / 1_000_000 + " ms");
          p.freeze();
          world.after(d, m.name + " thaw", p::thaw);
        }
      }
      case 3 -> {
        if (m.process != null) {
          SimProcess p = m.process;
          long d = world.nanosBetween(30, 900);
          world.note(m.name + " GC pause " + d / 1_000_000 + " ms");
          p.freeze();
          world.after(d, m.name + " GC done", p::thaw);
        }
      }
      case 4 -> {
        long d = world.nanosBetween(500, 12_000);
        world.note("API server outage for " + d / 1_000_000 + " ms");
        server.setDown(true);
        world.after(d, "API server back", () -> server.setDown(false));
      }
      case 5, 6 -> {
        long gc = config.releasedLeaseGc().toNanos() + config.leaseDuration().toNanos();
        long d =
            world.chance(0.4)
                ? gc + world.nanosBetween(500, 4_000)
                : world.nanosBetween(300, 8_000);
        world.note(m.name + " partitioned from the API server for " + d / 1_000_000 + " ms");
        m.link.partitioned = true;
        server.linkCut(m.link);
        world.after(d, m.name + " API link back", () -> m.link.partitioned = false);
      }
      case 7 -> {
        m.link.slowUntil = world.now() + world.nanosBetween(500, 8_000);
        m.link.slowMillis = 50 + world.below(1_500);
        world.note(m.name + " slow API responses, ~" + m.link.slowMillis + " ms");
      }
      case 8 -> {
        m.link.lossyUntil = world.now() + world.nanosBetween(500, 6_000);
        m.link.lossRate = 0.2 + world.random.nextDouble() * 0.5;
        world.note(m.name + " lossy API link");
      }
      case 9 -> {
        if (m.watch != null) {
          long d = world.nanosBetween(300, 6_000);
          world.note(m.name + " Lease watch stalls for " + d / 1_000_000 + " ms");
          m.watch.stalledUntil = world.now() + d;
        }
      }
      case 10 -> {
        if (m.watch != null) {
          m.watch.lagUntil = world.now() + world.nanosBetween(500, 6_000);
          m.watch.lagMillis = 50 + world.below(1_500);
          world.note(m.name + " Lease watch lags ~" + m.watch.lagMillis + " ms");
        }
      }
      case 11 -> {
        if (m.watch != null) {
          world.note(m.name + " Lease watch restarts");
          m.watch.restart();
        }
      }
      case 12 -> {
        List<String> names = server.names();
        if (!names.isEmpty()) {
          String name = world.pick(names);
          world.note("kubectl delete lease " + name);
          server.deleteByHand(name);
        }
      }
      case 13 -> {
        long d = world.nanosBetween(300, 6_000);
        NodeInfo cur = truth.nodes.get(m.name);
        truth.putNode(new NodeInfo(m.name, cur.internalIps(), false, cur.labels()));
        world.after(d, m.name + " Ready", () -> setReady(m, true));
      }
      case 14 -> {
        long d = world.nanosBetween(300, 6_000);
        world.note(m.name + " uplink down for " + d / 1_000_000 + " ms");
        setLink(m, false);
        world.after(d, m.name + " uplink up", () -> setLink(m, true));
      }
      case 15 -> rollingRestart(new ArrayList<>(ms), 0);
      case 16 -> {
        if (world.chance(0.5) && machines.size() < 7) {
          Machine joined = addMachine(world.micros(0, 1_000));
          world.note(joined.name + " joins");
        } else if (ms.size() > 2) {
          leave(m);
        }
      }
      default -> churn();
    }
  }

  private void setReady(Machine m, boolean ready) {
    NodeInfo cur = truth.nodes.get(m.name);
    if (cur != null && cur.ready() != ready) {
      truth.putNode(new NodeInfo(m.name, cur.internalIps(), ready, cur.labels()));
    }
  }

  private void setLink(Machine m, boolean up) {
    if (m.linkUp != up) {
      m.linkUp = up;
      world.dirty = true;
      if (m.daemon != null && m.running()) {
        m.daemon.announcer().healthChanged();
      }
    }
  }

  /** SIGTERM: the daemon shuts down in order, then the process exits a little later. */
  private void sigterm(Machine m, Runnable after) {
    if (!m.running()) {
      after.run();
      return;
    }
    SimProcess p = m.process;
    world.note(m.name + " SIGTERM");
    p.post(world.micros(10, 500), m.name + " sigterm", () -> m.daemon.sigterm());
    world.after(
        world.nanosBetween(100, 2_000),
        m.name + " exit",
        () -> {
          if (m.process == p) {
            kill(m, "exits");
          }
          after.run();
        });
  }

  /** Restarts the nodes one after another; a rollout still going when the faults end stops. */
  private void rollingRestart(List<Machine> left, int i) {
    if (i >= left.size() || world.now() >= healAt) {
      return;
    }
    Machine m = left.get(i);
    world.note("rollout: " + m.name);
    sigterm(
        m,
        () ->
            world.after(
                world.nanosBetween(200, 1_500),
                m.name + " rollout start",
                () -> {
                  startProcess(m);
                  world.after(
                      world.nanosBetween(1_500, 3_000),
                      "rollout next",
                      () -> rollingRestart(left, i + 1));
                }));
  }

  /** The node leaves the cluster: SIGTERM, its Node goes, its pods are rescheduled elsewhere. */
  private void leave(Machine m) {
    world.note(m.name + " leaves the cluster");
    sigterm(
        m,
        () -> {
          truth.deleteNode(m.name);
          machines.remove(m.name);
          List<Machine> rest = members();
          for (var e : new ArrayList<>(truth.endpoints.entrySet())) {
            List<EndpointInfo> moved = new ArrayList<>();
            boolean changed = false;
            for (EndpointInfo ep : e.getValue()) {
              if (m.name.equals(ep.nodeName())) {
                Machine to = world.pick(rest);
                moved.add(new EndpointInfo(newPodIp(to, ep.ip().contains(":")), to.name));
                changed = true;
              } else {
                moved.add(ep);
              }
            }
            if (changed) {
              truth.putEndpoints(e.getKey(), moved);
            }
          }
        });
  }

  private void churn() {
    List<ServiceKey> keys = new ArrayList<>(truth.services.keySet());
    int kind = world.below(6);
    if (keys.isEmpty() || kind == 0) {
      createService();
      return;
    }
    ServiceKey k = world.pick(keys);
    var s = truth.services.get(k);
    switch (kind) {
      case 1 -> truth.deleteService(k);
      case 2 ->
          truth.putService(
              k, ClusterTruth.labels(world.chance(0.8), world.chance(0.6)), s.ingressIps());
      case 3 -> truth.putService(k, s.labels(), List.of(world.pick(vipPool)));
      default -> {
        List<EndpointInfo> eps = new ArrayList<>(truth.endpoints.getOrDefault(k, List.of()));
        if (!eps.isEmpty() && world.chance(0.7)) {
          int i = world.below(eps.size());
          Machine to = world.pick(members());
          EndpointInfo ep = eps.get(i);
          eps.set(i, new EndpointInfo(newPodIp(to, ep.ip().contains(":")), to.name));
        } else {
          eps.addAll(pods());
        }
        truth.putEndpoints(k, eps);
      }
    }
  }

  private void healAll() {
    world.note("faults end: everything heals");
    server.setDown(false);
    for (Machine m : machines.values()) {
      m.link.partitioned = false;
      m.link.slowUntil = Long.MIN_VALUE;
      m.link.lossyUntil = Long.MIN_VALUE;
      if (m.process != null) {
        m.process.thaw();
      }
      setLink(m, true);
      setReady(m, true);
      if (!m.running()) {
        startProcess(m);
      }
    }
  }

  // ---- invariants ----

  private void checkSafety() {
    if (!world.dirty && world.now() - checkedAt < World.ms(20)) {
      return; // nothing a packet sees changed, except deadlines passing: looked at every 20 ms
    }
    world.dirty = false;
    checkedAt = world.now();
    Map<InetAddress, String> holder = new TreeMap<>(KernelModel::compare);
    for (Machine m : machines.values()) {
      AnnouncerModel a = m.running() && m.daemon != null ? m.daemon.announcer() : null;
      for (InetAddress vip : vipAddresses) {
        boolean ans = a != null && a.answers(vip);
        boolean snat = m.kernel.snats(vip);
        if (!ans && !snat) {
          continue;
        }
        String what = m.name + (ans ? " announces" : "") + (snat ? " SNATs" : "");
        String prev = holder.putIfAbsent(vip, what);
        if (prev != null) {
          violation =
              String.format(
                  "t=%.3fs two owners of %s at once: %s; %s",
                  world.now() / 1e9, Addresses.format(vip), prev, what);
          world.note("VIOLATION " + violation);
          return;
        }
      }
    }
    if (!options.checkEgress()) {
      return;
    }
    for (VipSpec s : truth.egressVips()) {
      for (Backend b : sorted(s)) {
        Machine m = machines.get(b.node());
        if (m == null || !m.kernel.knows(b.ip()) || m.reconciledPodVips == null) {
          continue;
        }
        Optional<InetAddress> vip = truth.podVip(b.ip());
        if (vip.isEmpty()
            || !vip.get().equals(s.vip())
            || !vip.get().equals(m.reconciledPodVips.get(b.ip()))) {
          continue;
        }
        if (m.kernel.egress(b.ip()) instanceof KernelModel.Leaked) {
          violation =
              String.format(
                  "t=%.3fs egress leak: pod %s of egress VIP %s on %s leaves neither SNATed, steered"
                      + " nor dropped",
                  world.now() / 1e9, Addresses.format(b.ip()), s.text(), m.name);
          world.note("VIOLATION " + violation);
          return;
        }
      }
    }
  }

  /** Backends in address order (a VipSpec's set iterates in a per-JVM order). */
  private static List<Backend> sorted(VipSpec s) {
    return s.backends().stream().sorted((x, y) -> KernelModel.compare(x.ip(), y.ip())).toList();
  }

  private Optional<String> answering(InetAddress vip) {
    List<String> who = new ArrayList<>();
    for (Machine m : machines.values()) {
      if (m.running() && m.daemon != null && m.daemon.announcer().answers(vip)) {
        who.add(m.name);
      }
    }
    return who.size() == 1 ? Optional.of(who.get(0)) : Optional.empty();
  }

  private void sampleOwners() {
    for (VipSpec s : truth.plan().vips().values()) {
      String owner = answering(s.vip()).orElse("");
      if (!owner.equals(lastOwner.get(s.text()))) {
        lastOwner.put(s.text(), owner);
        ownerSince.put(s.text(), world.now());
      }
    }
  }

  private String checkLiveness(long end) {
    boolean candidates = members().stream().anyMatch(Machine::running);
    if (!candidates) {
      return null;
    }
    for (VipSpec s : truth.plan().vips().values()) {
      Optional<String> owner = answering(s.vip());
      if (owner.isEmpty()) {
        return String.format(
            "%s has no single owner %d ms after the faults stopped",
            s.text(), (end - healAt) / 1_000_000);
      }
      long since = ownerSince.getOrDefault(s.text(), 0L);
      if (since > healAt + World.ms(FAILOVER_BOUND_MS) || since > end - World.ms(STABLE_MS)) {
        return String.format(
            "%s owned by %s only since %.3fs (faults stopped at %.3fs): not settled within %d ms",
            s.text(), owner.get(), since / 1e9, healAt / 1e9, FAILOVER_BOUND_MS);
      }
      Machine o = machines.get(owner.get());
      if (s.egress() && !o.kernel.snats(s.vip())) {
        return s.text() + " is announced by " + o.name + " but not SNATed there";
      }
      for (Backend b : sorted(s)) {
        if (!s.egress() || !truth.podVip(b.ip()).equals(Optional.of(s.vip()))) {
          continue;
        }
        Machine at = machines.get(b.node());
        if (at == null) {
          continue;
        }
        KernelModel.Egress e = at.kernel.egress(b.ip());
        boolean ok =
            switch (e) {
              case KernelModel.Snat sn -> sn.vip().equals(s.vip());
              case KernelModel.Steered st ->
                  o.addresses().contains(st.nextHop()) && o.kernel.snats(b.ip(), s.vip());
              default -> false;
            };
        if (!ok) {
          return String.format(
              "pod %s of %s on %s does not egress as the VIP after the faults stopped: %s",
              Addresses.format(b.ip()), s.text(), at.name, e);
        }
      }
    }
    return null;
  }
}
