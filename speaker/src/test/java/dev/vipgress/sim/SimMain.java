package dev.vipgress.sim;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.slf4j.LoggerFactory;

/**
 * {@code make sim}: runs a fixed budget of seeds and prints, as its last line, {@code
 * {"bench":"sim","schedules":…,"steps":…,"violations":…,"liveness_failures":…,"seed_of_first_failure":…}}.
 * {@code make sim SEED=n} replays one seed and prints its trace.
 *
 * <p>Options (system properties): {@code sim.schedules} (default 10000), {@code sim.firstSeed} (1),
 * {@code sim.seed} (replay one), {@code sim.threads} (2), {@code sim.faultMs} (12000), {@code
 * sim.quietMs} (20000), {@code sim.daemon} ({@code real} or {@code model}), {@code sim.logs}
 * (replay: the code's log lines in the trace).
 */
public final class SimMain {
  private SimMain() {}

  public static void main(String[] args) throws Exception {
    quietLogs();
    long faultMs = Long.getLong("sim.faultMs", 12_000);
    long quietMs = Long.getLong("sim.quietMs", 20_000);
    String daemon = System.getProperty("sim.daemon", "real");
    String replay = System.getProperty("sim.seed", "");
    if (!replay.isBlank()) {
      long seed = Long.parseLong(replay.trim());
      Simulation sim = new Simulation(seed, options(daemon, faultMs, quietMs, true));
      if (Boolean.getBoolean("sim.logs")) {
        TraceAppender.install(sim.world);
      }
      Simulation.Result r = sim.run();
      r.trace().forEach(System.out::println);
      System.out.println("seed " + seed + " trace hash " + Long.toHexString(r.traceHash()));
      r.violation().ifPresent(v -> System.out.println("VIOLATION " + v));
      r.livenessFailure().ifPresent(v -> System.out.println("LIVENESS " + v));
      System.out.println(json(List.of(r)));
      return;
    }
    int schedules = Integer.getInteger("sim.schedules", 10_000);
    long first = Long.getLong("sim.firstSeed", 1);
    int threads = Integer.getInteger("sim.threads", 2);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<Simulation.Result>> futures = new ArrayList<>();
    for (long s = first; s < first + schedules; s++) {
      long seed = s;
      futures.add(
          pool.submit(() -> new Simulation(seed, options(daemon, faultMs, quietMs, false)).run()));
    }
    List<Simulation.Result> results = new ArrayList<>();
    for (Future<Simulation.Result> f : futures) {
      Simulation.Result r = f.get();
      results.add(r);
      if (r.failed()) {
        System.out.println(
            "seed "
                + r.seed()
                + ": "
                + r.violation()
                    .map(v -> "VIOLATION " + v)
                    .orElse("LIVENESS " + r.livenessFailure().orElse("")));
      }
    }
    pool.shutdown();
    System.out.println(json(results));
  }

  /** The code under test logs every event; a budget of schedules would mostly write logs. */
  static void quietLogs() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.OFF);
  }

  static Simulation.Options options(String daemon, long faultMs, long quietMs, boolean trace) {
    Function<SimProcess, Daemon> daemons =
        switch (daemon) {
          case "real" -> p -> new RealDaemon(p, p.machine.cluster.config);
          case "real-legacy-proxy" -> p -> new RealDaemon(p, p.machine.cluster.config, true);
          case "model" ->
              p -> new ModelDaemon(p, p.machine.cluster.config, ModelDaemon.Variant.CORRECT);
          case "model-ignores-barrier" ->
              p ->
                  new ModelDaemon(p, p.machine.cluster.config, ModelDaemon.Variant.IGNORES_BARRIER);
          default ->
              throw new IllegalArgumentException(
                  "sim.daemon: real, real-legacy-proxy, model or model-ignores-barrier, not "
                      + daemon);
        };
    KernelModel.failClosed = Boolean.parseBoolean(System.getProperty("sim.failClosed", "true"));
    KernelModel.atomicBatch = Boolean.getBoolean("sim.atomicBatch");
    return new Simulation.Options(
        faultMs,
        quietMs,
        daemons,
        Boolean.parseBoolean(System.getProperty("sim.checkEgress", "true")),
        trace);
  }

  static String json(List<Simulation.Result> results) {
    long steps = 0;
    int violations = 0;
    int liveness = 0;
    Long firstFailure = null;
    for (Simulation.Result r : results) {
      steps += r.steps();
      violations += r.violation().isPresent() ? 1 : 0;
      liveness += r.livenessFailure().isPresent() ? 1 : 0;
      if (r.failed() && firstFailure == null) {
        firstFailure = r.seed();
      }
    }
    return String.format(
        "{\"bench\":\"sim\",\"schedules\":%d,\"steps\":%d,\"violations\":%d,\"liveness_failures\":%d,\"seed_of_first_failure\":%s}",
        results.size(),
        steps,
        violations,
        liveness,
        firstFailure == null ? "null" : firstFailure.toString());
  }
}
