package dev.vipgress.election;

import io.kubernetes.client.openapi.models.V1Lease;
import java.util.Objects;

/**
 * What one elector knows of a node's liveness Lease: the last version seen and when (on the local
 * monotonic clock) it last changed. Loop-confined.
 */
final class Peer {
  final String node;

  /** Last version seen; null if it was never seen or was deleted. */
  V1Lease lease;

  /** Local time the lease was last seen to change (or first referenced). */
  long changedAt;

  /** Local time this node was last seen taking a VIP (it is working through its queue). */
  long lastProgress = Long.MIN_VALUE;

  /** Local time this node last became live and eligible (MIN_VALUE while it is not). */
  long liveSince = Long.MIN_VALUE;

  /** Incarnation VIP Leases referenced while the liveness Lease was missing. */
  String referencedIncarnation;

  /** Lapse state as last evaluated (a change triggers a full pass). */
  boolean lapsed;

  /** A lapse check is scheduled. */
  boolean checkScheduled;

  private V1Lease parsedFrom;
  private java.util.Map<String, Handoffs.Entry> handoffs = java.util.Map.of();

  Peer(String node, long now) {
    this.node = node;
    this.changedAt = now;
  }

  String incarnation() {
    return lease == null ? referencedIncarnation : Leases.annotation(lease, Leases.INCARNATION);
  }

  boolean present() {
    return lease != null;
  }

  boolean fenced() {
    return lease != null && isFenced(lease);
  }

  boolean stopped() {
    return lease != null && Leases.STATE_STOPPED.equals(Leases.annotation(lease, Leases.STATE));
  }

  /** Whether it runs this elector's protocol version (unknown while its Lease is missing). */
  boolean sameProtocol() {
    return lease == null || Leases.sameProtocol(lease);
  }

  boolean eligibleFlag() {
    return lease != null && "true".equals(Leases.annotation(lease, Leases.ELIGIBLE));
  }

  /** Handoff records of the current lease version (parsed once per version). */
  java.util.Map<String, Handoffs.Entry> handoffs() {
    if (lease == null) {
      return java.util.Map.of();
    }
    if (parsedFrom != lease) {
      handoffs = Handoffs.parse(Leases.annotation(lease, Leases.HANDOFF));
      parsedFrom = lease;
    }
    return handoffs;
  }

  String candidacy() {
    return lease == null ? null : Leases.annotation(lease, Leases.CANDIDACY);
  }

  /** The lease duration this node published (peers honour it), else {@code fallback}. */
  long durationNanos(long fallback) {
    if (lease == null) {
      return fallback;
    }
    String ms = Leases.annotation(lease, Leases.DURATION_MS);
    if (ms != null) {
      try {
        long v = Long.parseLong(ms);
        if (v > 0) {
          return v * 1_000_000L;
        }
      } catch (NumberFormatException e) {
        // fall through to the spec
      }
    }
    Integer s = lease.getSpec() == null ? null : lease.getSpec().getLeaseDurationSeconds();
    return s != null && s > 0 ? s * 1_000_000_000L : fallback;
  }

  /** The fields whose change matters beyond the lapse clock. */
  String semantics() {
    if (lease == null) {
      return "absent";
    }
    return String.join(
        "|",
        Objects.toString(incarnation()),
        Objects.toString(Leases.annotation(lease, Leases.FENCED_BY)),
        Objects.toString(Leases.annotation(lease, Leases.STATE)),
        Objects.toString(Leases.annotation(lease, Leases.ELIGIBLE)),
        Objects.toString(candidacy()),
        Objects.toString(Leases.annotation(lease, Leases.DURATION_MS)),
        Objects.toString(Leases.annotation(lease, Leases.HANDOFF)));
  }

  static boolean isFenced(V1Lease l) {
    String f = Leases.annotation(l, Leases.FENCED_BY);
    return f != null && !f.isEmpty();
  }
}
