package dev.vipgress.speaker.bgp.fsm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private final Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), 0.25);

  @Test
  void doublesFromTheInitialDelayUpToTheCap() {
    assertEquals(Duration.ofSeconds(1), b.delay(1, () -> 0.0));
    assertEquals(Duration.ofSeconds(2), b.delay(2, () -> 0.0));
    assertEquals(Duration.ofSeconds(32), b.delay(6, () -> 0.0));
    assertEquals(Duration.ofSeconds(60), b.delay(7, () -> 0.0));
    assertEquals(Duration.ofSeconds(60), b.delay(1000, () -> 0.0));
  }

  @Test
  void jitterShortensByAtMostItsFraction() {
    assertEquals(Duration.ofMillis(750), b.delay(1, () -> 1.0));
    assertEquals(Duration.ofMillis(1500), b.delay(2, () -> 1.0));
    assertEquals(Duration.ofMillis(875), b.delay(1, () -> 0.5));
  }
}
