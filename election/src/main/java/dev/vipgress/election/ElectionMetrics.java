package dev.vipgress.election;

import dev.vipgress.election.ElectionListener.LossReason;
import java.util.Map;

/**
 * A snapshot of a {@link LeaseElector}'s counters and gauges, for the daemon to export as {@code
 * vipgress_election_*}. Counters only grow for the life of the elector.
 *
 * @param ownedVips gauge: VIPs this node owns now
 * @param knownVips gauge: VIP Leases seen in the namespace
 * @param candidateVips gauge: VIPs this node competes for
 * @param liveNodes gauge: nodes whose liveness Lease is current (this one included)
 * @param eligibleNodes gauge: live nodes that publish themselves eligible (this one included)
 * @param apiHealthy gauge: the last liveness renewal succeeded
 * @param acquisitions counter: VIPs acquired
 * @param losses counter per reason: VIPs lost
 * @param releases counter: VIP Leases released by this node (candidacy withdrawn)
 * @param fences counter: peers' liveness Leases this node fenced
 * @param conflicts counter: writes refused with 409 (re-read, never overwritten)
 * @param apiErrors counter: requests that failed otherwise (timeouts, connection errors, 5xx)
 * @param renewals counter: successful liveness renewals
 * @param renewalFailures counter: failed liveness renewals
 * @param watchRestarts counter: times the Lease watch broke and was re-established
 * @param apiRequests counter: every request this elector sent to the API server (renewals, Lease
 *     writes and reads, list pages, watch starts)
 */
public record ElectionMetrics(
    int ownedVips,
    int knownVips,
    int candidateVips,
    int liveNodes,
    int eligibleNodes,
    boolean apiHealthy,
    long acquisitions,
    Map<LossReason, Long> losses,
    long releases,
    long fences,
    long conflicts,
    long apiErrors,
    long renewals,
    long renewalFailures,
    long watchRestarts,
    long apiRequests) {

  public ElectionMetrics {
    losses = Map.copyOf(losses);
  }
}
