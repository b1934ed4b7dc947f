package dev.vipgress.sim;

import dev.vipgress.election.ElectionConfig;
import dev.vipgress.election.ElectionListener;
import dev.vipgress.election.LeaseElector;
import dev.vipgress.speaker.reconcile.Candidacy;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Set;

/** The daemon of one process: the real elector plus a reconciler on fake I/O edges. */
interface Daemon {
  void start();

  /** SIGTERM: the orderly shutdown the daemon does before it exits. */
  void sigterm();

  AnnouncerModel announcer();

  /** Builds the real elector of {@code process} on simulated wiring. */
  static LeaseElector elector(
      SimProcess process,
      ElectionConfig config,
      ElectionListener listener,
      SimProcess.SimScheduler loop) {
    Machine m = process.machine;
    World w = process.world;
    SimApiServer server = m.cluster.server;
    SimApiServer.Watch watch = server.watch(process, m.link, config.retryInterval().toNanos());
    m.watch = watch;
    LeaseElector.Wiring wiring =
        new LeaseElector.Wiring(
            server.client(m.link, m.name),
            watch,
            loop,
            process.new ApiExecutor(m.name + " election-io", false),
            process.new ApiExecutor(m.name + " election-liveness", true),
            process.new SerialExecutor(m.name + " election-events", 5, 400),
            new Clock() {
              @Override
              public ZoneId getZone() {
                return ZoneOffset.UTC;
              }

              @Override
              public Clock withZone(ZoneId zone) {
                return this;
              }

              @Override
              public Instant instant() {
                return Instant.ofEpochSecond(1_760_000_000L).plusNanos(w.now());
              }
            },
            () -> Long.toHexString(w.random.nextLong() | (1L << 60)),
            () -> {});
    return new LeaseElector(config, m.name, new TracingListener(listener, process), wiring);
  }

  /** The reconciler's handle on the elector; close runs as the elector's loop (it never waits). */
  static Candidacy candidacy(
      java.util.function.Supplier<LeaseElector> elector,
      SimProcess.SimScheduler loop,
      World world) {
    return new Candidacy() {
      @Override
      public void setCandidacy(Set<String> vips) {
        elector.get().setCandidacy(vips);
      }

      @Override
      public void setHealthy(boolean healthy) {
        elector.get().setHealthy(healthy);
      }

      @Override
      public void close() {
        Object was = world.context;
        world.context = loop;
        try {
          elector.get().close();
        } finally {
          world.context = was;
        }
      }
    };
  }
}
