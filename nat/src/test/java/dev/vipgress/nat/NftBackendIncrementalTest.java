package dev.vipgress.nat;

import static dev.vipgress.nat.Fixtures.NOW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Applies that render only the change (no read-back between them) leave the kernel — the nft
 * scripts played on a model — exactly as a plan from scratch wants it, over random sequences.
 */
class NftBackendIncrementalTest {
  private final FakeRunner fake = new FakeRunner();
  private final AtomicLong clock = new AtomicLong(NOW);

  @Test
  void everyApplyLeavesTheKernelAsAFullPlanWants() {
    NatConfig config =
        NatConfig.builder("eth0")
            .manageSysctls(false)
            .retryBackoff(Duration.ofMillis(1))
            .resyncInterval(Duration.ofHours(1))
            .build();
    for (long seed = 1; seed <= 5; seed++) {
      NftBackend b = new NftBackend(config, fake, clock::get);
      fake.kernel.clear();
      b.start();
      Random rnd = new Random(seed);
      Map<InetAddress, OwnedVip> state = new HashMap<>();
      List<OwnedVip> extra = new ArrayList<>();
      for (int step = 0; step < 60; step++) {
        String where = "seed " + seed + " step " + step;
        IncrementalPlanTest.mutate(rnd, state, extra);
        Set<OwnedVip> owned = new HashSet<>();
        List<OwnedVip> all = new ArrayList<>(state.values());
        all.addAll(extra);
        for (OwnedVip o : all) {
          // deadlines 100..105 ms ahead; the fence margin (50 ms) keeps every VIP live
          owned.add(
              new OwnedVip(o.vip(), o.backends(), NOW + o.deadlineNanos() * 1_000_000, o.scope()));
        }
        NodeDesired d =
            new NodeDesired(
                owned, IncrementalPlanTest.steering(rnd), Set.of(Cidr.parse("10.96.0.0/16")));
        fake.calls.clear();
        b.apply(d);
        assertTrue(step == 0 || fake.matching("nft -j list").isEmpty(), where + ": read back");

        NatPlan full = NatPlan.of(d, config, b.slots());
        Map<String, Map<String, String>> want = new TreeMap<>();
        full.table()
            .elements()
            .forEach(
                (name, m) -> {
                  if (!m.isEmpty()) {
                    want.put(name, new TreeMap<>(m));
                  }
                });
        assertEquals(want, fake.kernel, where);
      }
      b.close(true);
    }
  }
}
