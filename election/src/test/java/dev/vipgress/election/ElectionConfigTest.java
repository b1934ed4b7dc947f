package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ElectionConfigTest {

  @Test
  void defaults() {
    ElectionConfig c = ElectionConfig.defaults("vipgress");
    assertEquals(Duration.ofMillis(1000), c.leaseDuration());
    assertEquals(Duration.ofMillis(500), c.renewInterval());
    assertEquals(Duration.ofMillis(100), c.retryInterval());
    assertEquals(Duration.ofMillis(100), c.fencingMargin());
    assertEquals(c, c.toBuilder().build());
    assertEquals(5_000_000_000L + 900_000_000L, c.deadlineAfter(5_000_000_000L));
  }

  @Test
  void rejectsTimingThatCannotRenewBeforeTheDeadline() {
    var b = ElectionConfig.builder("ns").leaseDuration(Duration.ofMillis(600));
    assertThrows(IllegalArgumentException.class, b::build);
    assertThrows(
        IllegalArgumentException.class,
        () -> ElectionConfig.builder("ns").renewInterval(Duration.ZERO).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> ElectionConfig.builder("ns").apiConcurrency(0).build());
    assertThrows(IllegalArgumentException.class, () -> ElectionConfig.builder(" ").build());
  }
}
