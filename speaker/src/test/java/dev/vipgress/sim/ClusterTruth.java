package dev.vipgress.sim;

import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EndpointInfo;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.Planner;
import dev.vipgress.speaker.model.ServiceInfo;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.VipSpec;
import dev.vipgress.speaker.reconcile.ClusterSource;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The Services, EndpointSlices and Nodes of the simulated cluster as the API server holds them, and
 * each process's view of them: a watch that learns every change after a seeded delay.
 */
final class ClusterTruth {
  static final List<String> CLUSTER_RANGES =
      List.of("10.244.0.0/16", "fd00:244::/48", "10.96.0.0/12");
  static final String NS = "apps";

  private final World world;
  final Map<ServiceKey, ServiceInfo> services = new TreeMap<>();
  final Map<ServiceKey, List<EndpointInfo>> endpoints = new TreeMap<>();
  final Map<String, NodeInfo> nodes = new TreeMap<>();
  private final List<View> views = new ArrayList<>();
  private Plan plan;
  private List<VipSpec> egressVips;
  private Map<InetAddress, Optional<InetAddress>> podVips = new HashMap<>();

  ClusterTruth(World world) {
    this.world = world;
  }

  ClusterView view() {
    return new ClusterView(services, endpoints, nodes);
  }

  /** The plan every node would compute from the current objects. */
  Plan plan() {
    if (plan == null) {
      plan = planOf(view());
    }
    return plan;
  }

  static Plan planOf(ClusterView v) {
    return Planner.plan(v, CLUSTER_RANGES.stream().map(Cidr::parse).toList(), Set.of(Mode.L2));
  }

  /** The egress VIP a pod leaves with according to {@code plan} (the lowest of its egress VIPs). */
  static Optional<InetAddress> podVip(Plan plan, InetAddress pod) {
    return plan.vips().values().stream()
        .filter(VipSpec::egress)
        .sorted(Comparator.comparing(VipSpec::text))
        .filter(s -> s.backends().stream().anyMatch(b -> b.ip().equals(pod)))
        .map(VipSpec::vip)
        .findFirst();
  }

  /** Egress VIPs in the order the egress planner gives a pod its VIP (lowest first). */
  List<VipSpec> egressVips() {
    if (egressVips == null) {
      egressVips =
          plan().vips().values().stream()
              .filter(VipSpec::egress)
              .sorted(Comparator.comparing(VipSpec::text))
              .toList();
    }
    return egressVips;
  }

  Optional<String> podNode(InetAddress pod) {
    for (List<EndpointInfo> eps : endpoints.values()) {
      for (EndpointInfo e : eps) {
        if (Addresses.parse(e.ip()).equals(pod)) {
          return Optional.ofNullable(e.nodeName());
        }
      }
    }
    return Optional.empty();
  }

  /** The egress VIP a pod leaves with (the lowest of its egress VIPs). */
  Optional<InetAddress> podVip(InetAddress pod) {
    return podVips.computeIfAbsent(pod, p -> podVip(plan(), p));
  }

  // ---- changes ----

  void putService(ServiceKey key, Map<String, String> labels, List<String> ips) {
    services.put(key, new ServiceInfo(key, "LoadBalancer", labels, ips));
    changed("service " + key + " " + labels + " " + ips);
  }

  void deleteService(ServiceKey key) {
    services.remove(key);
    endpoints.remove(key);
    changed("service " + key + " deleted");
  }

  void putEndpoints(ServiceKey key, List<EndpointInfo> eps) {
    endpoints.put(key, List.copyOf(eps));
    changed("endpoints " + key + " " + eps.size());
  }

  void putNode(NodeInfo n) {
    nodes.put(n.name(), n);
    changed("node " + n.name() + " ready=" + n.ready());
  }

  void deleteNode(String name) {
    nodes.remove(name);
    changed("node " + name + " deleted");
  }

  static Map<String, String> labels(boolean announce, boolean egress) {
    Map<String, String> m = new TreeMap<>();
    if (announce) {
      m.put(Labels.ANNOUNCE, "l2");
    }
    if (egress) {
      m.put(Labels.EGRESS, "true");
    }
    return m;
  }

  private void changed(String what) {
    plan = null;
    world.dirty = true;
    egressVips = null;
    podVips = new HashMap<>();
    world.note("cluster: " + what);
    ClusterView snapshot = view();
    for (View v : List.copyOf(views)) {
      v.offer(snapshot);
    }
  }

  /** One process's watches of Services, EndpointSlices and Nodes. */
  final class View implements ClusterSource {
    private final SimProcess process;
    private final List<Runnable> onChange = new ArrayList<>();
    private ClusterView seen;
    private Map<InetAddress, InetAddress> seenPodVips;
    private ClusterView latest;
    private boolean pending;

    View(SimProcess process) {
      this.process = process;
    }

    @Override
    public void onChange(Runnable callback) {
      onChange.add(callback);
    }

    void start() {
      views.add(this);
      offer(ClusterTruth.this.view());
    }

    void stop() {
      views.remove(this);
    }

    void offer(ClusterView snapshot) {
      latest = snapshot;
      if (pending) {
        return;
      }
      pending = true;
      long lag = world.chance(0.1) ? world.nanosBetween(20, 800) : world.micros(200, 5_000);
      process.post(lag, process.machine.name + " cluster watch", this::deliver);
    }

    /** Informer-like: the newest state arrives; while the API is out of reach, nothing does. */
    private void deliver() {
      if (!process.machine.link.reachable()) {
        process.post(World.ms(200), process.machine.name + " cluster watch retry", this::deliver);
        return;
      }
      pending = false;
      seen = latest;
      seenPodVips = Machine.podVips(planOf(seen));
      onChange.forEach(Runnable::run);
    }

    @Override
    public boolean synced() {
      return seen != null;
    }

    /**
     * What the process's reconciler reads; it plans and applies from it in the same task, so from
     * here on the kernel is judged against this view (not against one it has not read yet).
     */
    @Override
    public ClusterView view() {
      if (seen == null) {
        return new ClusterView(Map.of(), Map.of(), Map.of());
      }
      process.machine.reconciling(seenPodVips);
      return seen;
    }
  }
}
