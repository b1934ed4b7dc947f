package dev.vipgress.speaker;

import dev.vipgress.election.ElectionConfig;
import dev.vipgress.election.ElectionListener;
import dev.vipgress.election.ExecutorScheduler;
import dev.vipgress.election.LeaseElector;
import dev.vipgress.election.Scheduler;
import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NatConfig;
import dev.vipgress.nat.NatException;
import dev.vipgress.nat.NftBackend;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.bgp.announce.BgpAnnouncer;
import dev.vipgress.speaker.bgp.announce.BgpMetrics;
import dev.vipgress.speaker.bgp.announce.ServiceCommunities;
import dev.vipgress.speaker.bgp.announce.Transport;
import dev.vipgress.speaker.config.ConfigWatcher;
import dev.vipgress.speaker.config.SpeakerConfig;
import dev.vipgress.speaker.k8s.ClusterWatch;
import dev.vipgress.speaker.k8s.ServiceWriter;
import dev.vipgress.speaker.l2.InterfacePattern;
import dev.vipgress.speaker.l2.L2Announcer;
import dev.vipgress.speaker.l2.L2Config;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.observe.HttpEndpoints;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import dev.vipgress.speaker.reconcile.Candidacy;
import dev.vipgress.speaker.reconcile.ClusterSource;
import dev.vipgress.speaker.reconcile.Datapath;
import dev.vipgress.speaker.reconcile.Reconciler;
import dev.vipgress.speaker.reconcile.Reporter;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Node;
import io.kubernetes.client.openapi.models.V1NodeAddress;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.Config;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the parts of one speaker process together and owns their lifecycle. */
final class Speaker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Speaker.class);

  /** Start-up failed for a reason the operator can fix; the message says what. */
  static final class StartupException extends Exception {
    private static final long serialVersionUID = 1L;

    StartupException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final String node;
  private final AtomicReference<SpeakerConfig> config;
  private final ApiClient client;
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final SpeakerMetrics metrics = new SpeakerMetrics(registry);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicBoolean closed = new AtomicBoolean();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final Path configFile;
  private volatile Reconciler reconciler;

  Speaker(String node, SpeakerConfig cfg, Path configFile, ApiClient client) {
    this.node = node;
    this.config = new AtomicReference<>(cfg);
    this.configFile = configFile;
    this.client = client;
  }

  static Speaker create(String node, SpeakerConfig cfg, Path configFile, String kubeconfig)
      throws StartupException {
    ApiClient client;
    try {
      client = kubeconfig != null ? Config.fromConfig(kubeconfig) : ClientBuilder.cluster().build();
    } catch (IOException e) {
      throw new StartupException(
          "cannot load Kubernetes credentials ("
              + (kubeconfig != null ? "kubeconfig " + kubeconfig : "in-cluster service account")
              + "): "
              + e.getMessage(),
          e);
    }
    // Watches hold their connection open; the read timeout must not cut them.
    client.setHttpClient(
        client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
    return new Speaker(node, cfg, configFile, client);
  }

  void start() throws StartupException {
    start(this::openEdge);
  }

  /** Opens the daemon's I/O edge; registers every part it started with {@code started} at once. */
  @FunctionalInterface
  interface EdgeOpener {
    Edge open(SpeakerConfig cfg, List<AutoCloseable> started) throws StartupException;
  }

  /**
   * Starts the daemon on the edge {@code opener} gives. Every part is registered for {@link
   * #close()} as soon as it started, so a start that fails half-way (a taken HTTP port, a missing
   * capability) stops everything it started when the caller closes this speaker.
   */
  void start(EdgeOpener opener) throws StartupException {
    SpeakerConfig cfg = config.get();
    Edge edge = opener.open(cfg, closeables);
    Core core = wire(node, config::get, metrics, edge);
    reconciler = core.reconciler();

    if (cfg.httpPort() > 0) {
      try {
        HttpEndpoints http =
            new HttpEndpoints(
                cfg.httpPort(),
                registry,
                () -> !closed.get(),
                () -> core.reconciler().ready() && edge.cluster().synced(),
                () -> {
                  Map<String, Object> s = new LinkedHashMap<>();
                  s.put("node", node);
                  s.put("vips", core.reconciler().status());
                  if (edge.announcers().get(Mode.BGP) instanceof BgpAnnouncer b) {
                    s.put("bgpPeers", b.peers());
                  }
                  return s;
                });
        closeables.add(http);
        http.start();
      } catch (IOException e) {
        throw new StartupException(
            "cannot listen on httpPort " + cfg.httpPort() + ": " + e.getMessage(), e);
      }
    }
    if (configFile != null) {
      ConfigWatcher cw =
          new ConfigWatcher(
              configFile,
              cfg,
              next -> {
                config.set(next);
                metrics.configStale.set(0);
                if (edge.announcers().get(Mode.BGP) instanceof BgpAnnouncer b) {
                  b.configure(next.bgp());
                }
                core.reconciler().trigger();
              },
              err -> {
                metrics.configStale.set(1);
                edge.nodeEvents()
                    .event(
                        true,
                        "ConfigRejected",
                        "configuration "
                            + configFile
                            + " rejected, keeping the last good one: "
                            + String.join("; ", err.errors()));
              });
      closeables.add(cw);
      cw.start();
    }
    edge.startWatches().run();
    try {
      // links, steering routes and rules, the nft table: restored when they change under us
      closeables.add(edge.datapath().watchKernel(core.reconciler()::kernelChanged));
    } catch (RuntimeException e) {
      throw new StartupException("cannot watch the kernel (ip/nft monitor): " + e.getMessage(), e);
    }
    core.elector().start();
    core.reconciler().start();
    LOG.atInfo().addKeyValue("node", node).log("speakerStarted");
  }

  /** The real edge: interfaces, nftables, pcap, the Kubernetes API. */
  private Edge openEdge(SpeakerConfig cfg, List<AutoCloseable> started) throws StartupException {
    List<String> ifaces =
        cfg.interfaces().isEmpty() ? List.of(defaultInterface()) : cfg.interfaces();
    LOG.atInfo()
        .addKeyValue("node", node)
        .addKeyValue("interfaces", ifaces)
        .addKeyValue("namespace", cfg.namespace())
        .log("speakerStarting");

    SpeakerConfig.Steering st = cfg.steering();
    List<InterfaceAddress> uplinkAddrs = uplinkAddresses(ifaces);
    List<Cidr> subnets = new ArrayList<>();
    InetAddress tunnelLocal = null;
    for (InterfaceAddress a : uplinkAddrs) {
      subnets.add(new Cidr(a.getAddress(), a.getNetworkPrefixLength()));
      if (tunnelLocal == null && a.getAddress() instanceof Inet4Address) {
        tunnelLocal = a.getAddress();
      }
    }
    SteeringPolicy steering = new SteeringPolicy(st.mode(), subnets);
    NatConfig.Builder nb =
        NatConfig.builder(ifaces.toArray(String[]::new))
            .vxlanVni(st.vxlanVni())
            .vxlanPort(st.vxlanPort())
            .vxlanMtu(st.vxlanMtu());
    if (st.mode() != SteeringPolicy.Mode.DIRECT) {
      if (tunnelLocal == null) {
        LOG.atWarn()
            .addKeyValue("reason", "no IPv4 address on the uplink interfaces " + ifaces)
            .log("vxlanDisabled: backends cannot be steered to owners on other L2 segments");
      }
      nb.vxlanLocal(tunnelLocal);
    }
    LOG.atInfo()
        .addKeyValue("mode", st.mode())
        .addKeyValue("uplinkSubnets", subnets)
        .addKeyValue("vxlanLocal", tunnelLocal == null ? "-" : Addresses.format(tunnelLocal))
        .log("steering");
    NftBackend nat = startDatapath(nb, st.mode());
    started.add(() -> nat.close(true)); // a restart hands over: fail-closed state stays

    L2Announcer announcer =
        new L2Announcer(
            L2Config.defaults(ifaces).withGarp(cfg.garpCount(), cfg.garpInterval()), registry);
    started.add(announcer);
    try {
      announcer.start();
    } catch (Exception e) {
      throw new StartupException("L2 announcer: " + e.getMessage(), e);
    }
    BgpAnnouncer bgp =
        new BgpAnnouncer(
            Transport.kernel(),
            cfg.bgp(),
            Optional.ofNullable((Inet4Address) tunnelLocal),
            Optional.empty(),
            new BgpMetrics(registry));
    started.add(bgp);
    try {
      bgp.start();
    } catch (Exception e) {
      throw new StartupException("BGP announcer: " + e.getMessage(), e);
    }
    ServiceWriter writer =
        new ServiceWriter(client, node, r -> metrics.apiErrors.labelValues(r).inc());
    started.add(writer);
    ClusterWatch watch = new ClusterWatch(client, r -> metrics.apiErrors.labelValues(r).inc());
    started.add(watch);
    Set<ServiceCommunities.Invalid> reported = ConcurrentHashMap.newKeySet();
    watch.onChange(
        () ->
            bgp.serviceCommunities(
                () ->
                    ServiceCommunities.of(
                        watch.view(),
                        bad -> {
                          if (reported.add(bad)) {
                            writer.event(
                                bad.service().key(),
                                true,
                                "InvalidBgpCommunity",
                                "annotation "
                                    + bad.annotation()
                                    + ": "
                                    + bad.error()
                                    + "; the other communities are advertised");
                          }
                        })));
    ExecutorScheduler loop = new ExecutorScheduler("vipgress-reconcile");
    started.add(loop);

    ElectionConfig ecfg = electionConfig(cfg);
    Edge edge =
        new Edge(
            loop,
            watch,
            writer,
            Datapath.of(nat),
            Map.of(Mode.L2, announcer, Mode.BGP, bgp),
            listener -> new LeaseElector(ecfg, client, node, listener),
            steering,
            watch::start,
            writer::nodeEvent);
    return edge;
  }

  /**
   * The daemon's I/O edge: the reconcile loop, the Kubernetes watches and writers, the kernel
   * datapath, the announcers and the elector's API access. {@link #wire} builds the core on it; a
   * test passes fakes here and nowhere else.
   *
   * @param elector builds the elector that reports to the given listener
   * @param steering how this node's backends reach owners, from its uplink's subnets
   * @param startWatches starts the watches behind {@code cluster} (after the core is wired)
   * @param nodeEvents Events on this node's Node object
   */
  record Edge(
      Scheduler loop,
      ClusterSource cluster,
      Reporter reporter,
      Datapath datapath,
      Map<Mode, Announcer> announcers,
      Function<ElectionListener, LeaseElector> elector,
      SteeringPolicy steering,
      Runnable startWatches,
      NodeEvents nodeEvents) {}

  /** Events about this node as a whole (a rejected configuration). */
  @FunctionalInterface
  interface NodeEvents {
    void event(boolean warning, String reason, String message);
  }

  /** The daemon's core as {@link #wire} builds it; not started. */
  record Core(Reconciler reconciler, LeaseElector elector) {}

  /**
   * Wires the reconciler and the elector as the daemon runs them. The elector reports to the
   * reconciler itself (every {@link ElectionListener} method, the loss reason and the {@code
   * lostAll} barrier included: no forwarding layer); the reconciler drives the elector.
   */
  static Core wire(String node, Supplier<SpeakerConfig> config, SpeakerMetrics metrics, Edge edge) {
    AtomicReference<LeaseElector> elector = new AtomicReference<>();
    Reconciler reconciler =
        new Reconciler(
            node,
            config,
            edge.steering(),
            new Reconciler.Wiring(
                edge.loop(),
                edge.cluster(),
                Candidacy.of(elector::get),
                edge.datapath(),
                edge.announcers(),
                edge.reporter(),
                metrics));
    elector.set(edge.elector().apply(reconciler));
    edge.cluster().onChange(reconciler::trigger);
    edge.announcers().values().forEach(a -> a.onHealthChange(reconciler::trigger));
    return new Core(reconciler, elector.get());
  }

  /** The elector's configuration from the speaker's. */
  static ElectionConfig electionConfig(SpeakerConfig cfg) {
    SpeakerConfig.Timing t = cfg.timing();
    return ElectionConfig.builder(cfg.namespace())
        .leaseDuration(t.leaseDuration())
        .renewInterval(t.renewInterval())
        .retryInterval(t.retryInterval())
        .rebalanceInterval(cfg.rebalanceInterval())
        .build();
  }

  private static NftBackend startDatapath(NatConfig.Builder nb, SteeringPolicy.Mode mode)
      throws StartupException {
    NftBackend nat = new NftBackend(nb.build());
    try {
      try {
        nat.start();
      } catch (NatException.TunnelUnavailable e) {
        if (mode != SteeringPolicy.Mode.AUTO) {
          throw e;
        }
        // auto: owners on this node's segment still work; off-segment ones are reported
        LOG.atWarn()
            .addKeyValue("reason", e.getMessage())
            .log(
                "vxlanDisabled: backends on this node cannot be steered to owners on other L2 segments");
        nat = new NftBackend(nb.vxlanLocal(null).build());
        nat.start();
      }
    } catch (RuntimeException e) {
      throw new StartupException("egress datapath: " + e.getMessage(), e);
    }
    return nat;
  }

  /**
   * The addresses (with prefix lengths) of the uplink interfaces; names may be globs. The VXLAN
   * tunnel's outer source is the first IPv4 one: it must be the Node's IPv4 InternalIP, which other
   * nodes derive this node's tunnel MAC and endpoint from.
   */
  private static List<InterfaceAddress> uplinkAddresses(List<String> ifaces)
      throws StartupException {
    List<InterfaceAddress> out = new ArrayList<>();
    try {
      List<InterfacePattern> patterns = ifaces.stream().map(InterfacePattern::compile).toList();
      for (NetworkInterface ni :
          java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (patterns.stream().anyMatch(p -> p.matches(ni.getName()))) {
          for (InterfaceAddress a : ni.getInterfaceAddresses()) {
            if (!a.getAddress().isLinkLocalAddress() && !a.getAddress().isLoopbackAddress()) {
              out.add(a);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new StartupException("cannot list interfaces: " + e.getMessage(), e);
    }
    return out;
  }

  private String defaultInterface() throws StartupException {
    try {
      V1Node n = new CoreV1Api(client).readNode(node).execute();
      for (V1NodeAddress a : n.getStatus().getAddresses()) {
        if ("InternalIP".equals(a.getType())) {
          NetworkInterface ni =
              NetworkInterface.getByInetAddress(InetAddress.getByName(a.getAddress()));
          if (ni != null) {
            return ni.getName();
          }
        }
      }
      throw new StartupException(
          "no interface on this host holds an InternalIP of Node "
              + node
              + "; set 'interfaces' in the configuration",
          null);
    } catch (ApiException e) {
      throw new StartupException(
          "cannot read Node "
              + node
              + " (HTTP "
              + e.getCode()
              + "): check NODE_NAME and RBAC (get nodes)",
          e);
    } catch (IOException e) {
      throw new StartupException("cannot list interfaces: " + e.getMessage(), e);
    }
  }

  void awaitStop() throws InterruptedException {
    stopped.await();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    LOG.atInfo().addKeyValue("node", node).log("speakerStopping");
    if (reconciler != null) {
      reconciler.close(); // hands over: the elector releases once withdrawn and un-SNATed
    }
    for (AutoCloseable c : closeables.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.atWarn()
            .addKeyValue("part", c.getClass().getSimpleName())
            .addKeyValue("error", e.toString())
            .log("closeFailed");
      }
    }
    stopped.countDown();
  }
}
