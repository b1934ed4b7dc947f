package dev.vipgress.sim;

import dev.vipgress.election.ElectionConfig;
import dev.vipgress.election.LeaseElector;
import dev.vipgress.speaker.config.SpeakerConfig;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.SteeringPolicy;
import dev.vipgress.speaker.observe.SpeakerMetrics;
import dev.vipgress.speaker.reconcile.Reconciler;
import dev.vipgress.speaker.reconcile.Reporter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The daemon's core as {@code Speaker.wire} builds it: the real {@link Reconciler} on its own
 * simulated loop, reporting to and driven by the real {@link LeaseElector} (the elector reports to
 * the reconciler itself, every listener method included), on fake edges: the cluster view, the
 * kernel, the L2 announcer, a reporter that discards.
 */
final class RealDaemon implements Daemon {
  private final SimProcess process;
  private final SimProcess.SimScheduler loop;
  private final AnnouncerModel announcer;
  private final ClusterTruth.View cluster;
  private final Reconciler reconciler;
  private final LeaseElector elector;

  RealDaemon(SimProcess process, ElectionConfig config) {
    this(process, config, false);
  }

  /**
   * @param legacyProxy wire the elector to the reconciler through {@link LegacyProxy} (bugs 2 and 3
   *     put back)
   */
  RealDaemon(SimProcess process, ElectionConfig config, boolean legacyProxy) {
    this.process = process;
    Machine m = process.machine;
    this.loop = process.new SimScheduler(m.name + " reconcile");
    SimProcess.SimScheduler electionLoop = process.new SimScheduler(m.name + " election");
    this.announcer = new AnnouncerModel(process);
    this.cluster = m.cluster.truth.new View(process);
    AtomicReference<LeaseElector> ref = new AtomicReference<>();
    SpeakerConfig speakerConfig = speakerConfig(config);
    this.reconciler =
        new Reconciler(
            m.name,
            () -> speakerConfig,
            SteeringPolicy.direct(),
            new Reconciler.Wiring(
                loop,
                cluster,
                Daemon.candidacy(ref::get, electionLoop, process.world),
                m.kernel,
                Map.of(Mode.L2, announcer),
                new Reporter() {
                  @Override
                  public void event(
                      ServiceKey svc, boolean warning, String reason, String message) {}

                  @Override
                  public void annotateOwner(ServiceKey svc) {}
                },
                new SpeakerMetrics(new PrometheusRegistry())));
    this.elector =
        Daemon.elector(
            process, config, legacyProxy ? new LegacyProxy(reconciler) : reconciler, electionLoop);
    ref.set(elector);
    cluster.onChange(reconciler::trigger);
    announcer.onHealthChange(reconciler::trigger);
  }

  static SpeakerConfig speakerConfig(ElectionConfig e) {
    return new SpeakerConfig(
        e.namespace(),
        List.of("eth0"),
        ClusterTruth.CLUSTER_RANGES,
        Map.of(),
        new SpeakerConfig.Timing(e.leaseDuration(), e.renewInterval(), e.retryInterval()),
        3,
        Duration.ofMillis(100),
        0,
        SpeakerConfig.Steering.defaults(),
        e.rebalanceInterval());
  }

  @Override
  public AnnouncerModel announcer() {
    return announcer;
  }

  @Override
  public void start() {
    cluster.start();
    elector.start();
    reconciler.start();
  }

  /** SIGTERM: {@code Speaker.close} closes the reconciler (which closes the elector) first. */
  @Override
  public void sigterm() {
    Object was = process.world.context;
    process.world.context = loop; // its close would otherwise wait for its own loop
    try {
      reconciler.close();
    } finally {
      process.world.context = was;
    }
    announcer.close();
    cluster.stop();
  }
}
