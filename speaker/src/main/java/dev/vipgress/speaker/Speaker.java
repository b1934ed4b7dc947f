package dev.vipgress.speaker;

import dev.vipgress.election.ElectionConfig;
import dev.vipgress.election.LeaseElector;
import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import dev.vipgress.nat.NatConfig;
import dev.vipgress.nat.NatException;
import dev.vipgress.nat.NftBackend;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.config.ConfigWatcher;
import dev.vipgress.speaker.config.SpeakerConfig;
import dev.vipgress.speaker.k8s.ClusterWatch;
import dev.vipgress.speaker.k8s.ServiceWriter;
import dev.vipgress.speaker.l2.InterfacePattern;
import dev.vipgress.speaker.l2.L2Announcer;
import dev.vipgress.speaker.l2.L2Config;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
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
  private Reconciler reconciler;

  private Speaker(String node, SpeakerConfig cfg, Path configFile, ApiClient client) {
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
    SpeakerConfig cfg = config.get();
    List<String> ifaces =
        cfg.interfaces().isEmpty() ? List.of(defaultInterface()) : cfg.interfaces();
    LOG.info("speakerStarting node={} interfaces={} namespace={}", node, ifaces, cfg.namespace());

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
        LOG.warn(
            "vxlanDisabled reason=\"no IPv4 address on the uplink interfaces {}\": backends"
                + " cannot be steered to owners on other L2 segments",
            ifaces);
      }
      nb.vxlanLocal(tunnelLocal);
    }
    LOG.info(
        "steering mode={} uplinkSubnets={} vxlanLocal={}",
        st.mode(),
        subnets,
        tunnelLocal == null ? "-" : Addresses.format(tunnelLocal));
    NftBackend nat = new NftBackend(nb.build());
    try {
      try {
        nat.start();
      } catch (NatException.TunnelUnavailable e) {
        if (st.mode() != SteeringPolicy.Mode.AUTO) {
          throw e;
        }
        // auto: owners on this node's segment still work; off-segment ones are reported
        LOG.warn(
            "vxlanDisabled reason=\"{}\": backends on this node cannot be steered to owners on"
                + " other L2 segments",
            e.getMessage());
        nat = new NftBackend(nb.vxlanLocal(null).build());
        nat.start();
      }
    } catch (RuntimeException e) {
      throw new StartupException("egress datapath: " + e.getMessage(), e);
    }

    Announcer announcer =
        new L2Announcer(
            L2Config.defaults(ifaces).withGarp(cfg.garpCount(), cfg.garpInterval()), registry);
    try {
      announcer.start();
    } catch (Exception e) {
      nat.close(false);
      throw new StartupException("L2 announcer: " + e.getMessage(), e);
    }

    ServiceWriter writer =
        new ServiceWriter(client, node, r -> metrics.apiErrors.labelValues(r).inc());
    Reconciler[] recRef = new Reconciler[1];
    ClusterWatch watch =
        new ClusterWatch(
            client,
            () -> {
              if (recRef[0] != null) {
                recRef[0].trigger();
              }
            },
            r -> metrics.apiErrors.labelValues(r).inc());

    SpeakerConfig.Timing t = cfg.timing();
    ElectionConfig ecfg =
        ElectionConfig.builder(cfg.namespace())
            .leaseDuration(t.leaseDuration())
            .renewInterval(t.renewInterval())
            .retryInterval(t.retryInterval())
            .rebalanceInterval(cfg.rebalanceInterval())
            .build();
    // The elector calls the reconciler; the reconciler drives the elector: tie the knot.
    ReconcilerProxy proxy = new ReconcilerProxy();
    LeaseElector election = new LeaseElector(ecfg, client, node, proxy);
    reconciler =
        new Reconciler(
            node,
            config::get,
            ClusterSource.of(watch),
            Candidacy.of(election),
            Datapath.of(nat),
            announcer,
            Reporter.of(writer),
            metrics,
            steering);
    proxy.target = reconciler;
    recRef[0] = reconciler;
    announcer.onHealthChange(reconciler::trigger);

    if (cfg.httpPort() > 0) {
      try {
        HttpEndpoints http =
            new HttpEndpoints(
                cfg.httpPort(),
                registry,
                () -> !closed.get(),
                () -> reconciler.ready() && watch.synced(),
                () -> {
                  Map<String, Object> s = new LinkedHashMap<>();
                  s.put("node", node);
                  s.put("vips", reconciler.status());
                  return s;
                });
        http.start();
        closeables.add(http);
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
                reconciler.trigger();
              },
              err -> {
                metrics.configStale.set(1);
                writer.nodeEvent(
                    true,
                    "ConfigRejected",
                    "configuration "
                        + configFile
                        + " rejected, keeping the last good one: "
                        + String.join("; ", err.errors()));
              });
      cw.start();
      closeables.add(cw);
    }
    watch.start();
    election.start();
    reconciler.start();
    closeables.add(writer);
    closeables.add(watch);
    closeables.add(announcer);
    LOG.info("speakerStarted node={}", node);
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
    LOG.info("speakerStopping node={}", node);
    if (reconciler != null) {
      reconciler.close();
    }
    for (AutoCloseable c : closeables.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.warn("closeFailed part={} error={}", c.getClass().getSimpleName(), e.toString());
      }
    }
    stopped.countDown();
  }

  /** Lets the elector be built before the reconciler that listens to it. */
  private static final class ReconcilerProxy implements dev.vipgress.election.ElectionListener {
    volatile Reconciler target;

    @Override
    public void acquired(String vip, long deadline) {
      target.acquired(vip, deadline);
    }

    @Override
    public void renewed(String vip, long deadline) {
      target.renewed(vip, deadline);
    }

    @Override
    public void renewedAll(java.util.Set<String> vips, long deadline) {
      target.renewedAll(vips, deadline);
    }

    @Override
    public void lost(String vip) {
      target.lost(vip);
    }

    @Override
    public void ownerChanged(String vip, java.util.Optional<String> n) {
      target.ownerChanged(vip, n);
    }
  }
}
