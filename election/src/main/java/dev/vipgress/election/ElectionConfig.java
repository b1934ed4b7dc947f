package dev.vipgress.election;

import java.time.Duration;
import java.util.Objects;

/**
 * Timing and placement settings of a {@link LeaseElector}. Every node of a cluster should use the
 * same values; a node publishes its lease duration on its liveness Lease and peers honour the
 * published value.
 *
 * @param namespace where the VIP and node liveness Leases live (the daemon's namespace)
 * @param leaseDuration how long a node's liveness Lease vouches for it after a renewal: a peer
 *     takes over a node's VIPs once it has seen no renewal for this long (measured on the peer's
 *     monotonic clock)
 * @param renewInterval how often the liveness Lease is renewed (one write per interval per node,
 *     whatever the number of VIPs)
 * @param retryInterval pause before retrying a failed API request
 * @param fencingMargin how much earlier than {@code leaseDuration} after a renewal was sent the
 *     owner stops regarding itself as owner: the time the datapath gets to act on an expiring
 *     deadline
 * @param placementStagger extra wait per rank for a free VIP when a better-placed peer may not be a
 *     candidate for it (its published candidacy differs from ours)
 * @param placementFallback extra wait per rank for a free VIP when a better-placed peer is a known
 *     candidate (it should take the VIP; this is the safety net if it does not), counted from that
 *     peer's last visible progress or the end of its startup grace; zero makes every candidate
 *     claim at once
 * @param startupGrace after start, how long to wait before taking free VIPs, so that peers started
 *     at about the same time are seen and the VIPs spread over all of them
 * @param apiTimeout timeout of one write or read request
 * @param apiConcurrency how many VIP Lease requests may be in flight at once (each uses a thread)
 * @param releasedLeaseGc a released VIP Lease that nobody took for this long is deleted
 * @param shutdownTimeout how long {@link LeaseElector#close()} waits for the release to be written
 * @param rebalanceInterval opt-in rebalancing: zero (the default) never moves a VIP from a live
 *     eligible owner; otherwise a node holding more than its share hands at most one VIP per
 *     interval to an eligible node below its share (the first in the VIP's rendezvous order)
 */
public record ElectionConfig(
    String namespace,
    Duration leaseDuration,
    Duration renewInterval,
    Duration retryInterval,
    Duration fencingMargin,
    Duration placementStagger,
    Duration placementFallback,
    Duration startupGrace,
    Duration apiTimeout,
    int apiConcurrency,
    Duration releasedLeaseGc,
    Duration shutdownTimeout,
    Duration rebalanceInterval) {

  public ElectionConfig {
    Objects.requireNonNull(namespace, "namespace");
    if (namespace.isBlank()) {
      throw new IllegalArgumentException("namespace must not be blank");
    }
    positive("leaseDuration", leaseDuration);
    positive("renewInterval", renewInterval);
    positive("retryInterval", retryInterval);
    notNegative("fencingMargin", fencingMargin);
    notNegative("placementStagger", placementStagger);
    notNegative("placementFallback", placementFallback);
    notNegative("startupGrace", startupGrace);
    positive("apiTimeout", apiTimeout);
    positive("releasedLeaseGc", releasedLeaseGc);
    notNegative("shutdownTimeout", shutdownTimeout);
    notNegative("rebalanceInterval", rebalanceInterval);
    if (apiConcurrency < 1) {
      throw new IllegalArgumentException("apiConcurrency must be >= 1, got " + apiConcurrency);
    }
    // A renewal sent on schedule must be able to land before the deadline of the previous one.
    if (renewInterval.plus(fencingMargin).compareTo(leaseDuration) >= 0) {
      throw new IllegalArgumentException(
          "renewInterval + fencingMargin must be shorter than leaseDuration: "
              + renewInterval
              + " + "
              + fencingMargin
              + " >= "
              + leaseDuration);
    }
  }

  /**
   * Defaults sized for failover in about a second: peers take over 0.5–1.0 s after the owner's last
   * renewal, plus a few API round trips; two liveness writes per second per node.
   */
  public static ElectionConfig defaults(String namespace) {
    return builder(namespace).build();
  }

  public static Builder builder(String namespace) {
    return new Builder(namespace);
  }

  public Builder toBuilder() {
    return new Builder(namespace)
        .leaseDuration(leaseDuration)
        .renewInterval(renewInterval)
        .retryInterval(retryInterval)
        .fencingMargin(fencingMargin)
        .placementStagger(placementStagger)
        .placementFallback(placementFallback)
        .startupGrace(startupGrace)
        .apiTimeout(apiTimeout)
        .apiConcurrency(apiConcurrency)
        .releasedLeaseGc(releasedLeaseGc)
        .shutdownTimeout(shutdownTimeout)
        .rebalanceInterval(rebalanceInterval);
  }

  /** The owner's deadline after a renewal sent at local time {@code sentNanos}. */
  long deadlineAfter(long sentNanos) {
    return sentNanos + leaseDuration.toNanos() - fencingMargin.toNanos();
  }

  private static void positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
  }

  private static void notNegative(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative, got " + d);
    }
  }

  /** Builder starting from the defaults. */
  public static final class Builder {
    private final String namespace;
    private Duration leaseDuration = Duration.ofMillis(1000);
    private Duration renewInterval = Duration.ofMillis(500);
    private Duration retryInterval = Duration.ofMillis(100);
    private Duration fencingMargin = Duration.ofMillis(100);
    private Duration placementStagger = Duration.ofMillis(200);
    private Duration placementFallback = Duration.ofSeconds(10);
    private Duration startupGrace = Duration.ofMillis(1000);
    private Duration apiTimeout = Duration.ofSeconds(5);
    private int apiConcurrency = 8;
    private Duration releasedLeaseGc = Duration.ofMinutes(1);
    private Duration shutdownTimeout = Duration.ofSeconds(2);
    private Duration rebalanceInterval = Duration.ZERO;

    private Builder(String namespace) {
      this.namespace = namespace;
    }

    public Builder leaseDuration(Duration v) {
      leaseDuration = v;
      return this;
    }

    public Builder renewInterval(Duration v) {
      renewInterval = v;
      return this;
    }

    public Builder retryInterval(Duration v) {
      retryInterval = v;
      return this;
    }

    public Builder fencingMargin(Duration v) {
      fencingMargin = v;
      return this;
    }

    public Builder placementStagger(Duration v) {
      placementStagger = v;
      return this;
    }

    public Builder placementFallback(Duration v) {
      placementFallback = v;
      return this;
    }

    public Builder startupGrace(Duration v) {
      startupGrace = v;
      return this;
    }

    public Builder apiTimeout(Duration v) {
      apiTimeout = v;
      return this;
    }

    public Builder apiConcurrency(int v) {
      apiConcurrency = v;
      return this;
    }

    public Builder releasedLeaseGc(Duration v) {
      releasedLeaseGc = v;
      return this;
    }

    public Builder shutdownTimeout(Duration v) {
      shutdownTimeout = v;
      return this;
    }

    public Builder rebalanceInterval(Duration v) {
      rebalanceInterval = v;
      return this;
    }

    public ElectionConfig build() {
      return new ElectionConfig(
          namespace,
          leaseDuration,
          renewInterval,
          retryInterval,
          fencingMargin,
          placementStagger,
          placementFallback,
          startupGrace,
          apiTimeout,
          apiConcurrency,
          releasedLeaseGc,
          shutdownTimeout,
          rebalanceInterval);
    }
  }
}
