package dev.vipgress.speaker.bgp.fsm;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Restart delay after the n-th consecutive failure: {@code initial × 2^(n-1)} capped at {@code
 * max}, then scaled by a random factor in [1 - jitter, 1] so that many nodes that lost the same
 * router do not reconnect in lockstep (RFC 4271 §8.1.1 DampPeerOscillations).
 */
public record Backoff(Duration initial, Duration max, double jitter) {
  public Backoff {
    if (initial.isNegative() || max.compareTo(initial) < 0 || jitter < 0 || jitter > 1) {
      throw new IllegalArgumentException("backoff " + initial + ".." + max + " jitter " + jitter);
    }
  }

  public static final Backoff DEFAULT =
      new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), 0.25);

  /**
   * @param failures consecutive failures, at least 1
   * @param random uniform in [0, 1)
   */
  public Duration delay(int failures, DoubleSupplier random) {
    int doublings = Math.min(Math.max(failures, 1) - 1, 30);
    long nanos = initial.toNanos();
    long capped =
        nanos > max.toNanos() >> doublings
            ? max.toNanos()
            : Math.min(nanos << doublings, max.toNanos());
    double factor = 1.0 - jitter * random.getAsDouble();
    return Duration.ofNanos((long) (capped * factor));
  }
}
