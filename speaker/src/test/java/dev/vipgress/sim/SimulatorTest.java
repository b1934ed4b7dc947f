package dev.vipgress.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The simulator itself: a seed replays exactly, and a reconciler that breaks the ownership contract
 * is caught (so the simulator cannot silently pass everything). {@code make sim} runs the budget.
 */
class SimulatorTest {
  @BeforeAll
  static void quiet() {
    SimMain.quietLogs();
  }

  private static Simulation.Result run(long seed, Function<SimProcess, Daemon> daemons) {
    return new Simulation(seed, new Simulation.Options(6_000, 20_000, daemons, true, false)).run();
  }

  private static Function<SimProcess, Daemon> model(ModelDaemon.Variant v) {
    return p -> new ModelDaemon(p, p.machine.cluster.config, v);
  }

  @Test
  void aSeedReplaysExactly() {
    Simulation.Result a = run(11, model(ModelDaemon.Variant.CORRECT));
    Simulation.Result b = run(11, model(ModelDaemon.Variant.CORRECT));
    assertTrue(a.steps() > 1_000, "the schedule ran: " + a.steps() + " steps");
    assertEquals(a.steps(), b.steps());
    assertEquals(a.traceHash(), b.traceHash());
    assertEquals(a.violation(), b.violation());
  }

  @Test
  void theRealDaemonRunsASchedule() {
    Simulation.Result r = run(3, p -> new RealDaemon(p, p.machine.cluster.config));
    assertTrue(r.steps() > 1_000, "the schedule ran: " + r.steps() + " steps");
  }

  @Test
  void aReconcilerThatIgnoresTheLostBarrierIsCaught() {
    List<String> caught = new ArrayList<>();
    for (long seed = 1; seed <= 8; seed++) {
      run(seed, model(ModelDaemon.Variant.IGNORES_BARRIER))
          .violation()
          .filter(v -> v.contains("two owners"))
          .ifPresent(caught::add);
    }
    assertTrue(caught.size() >= 2, "two owners at once found in " + caught);
  }
}
