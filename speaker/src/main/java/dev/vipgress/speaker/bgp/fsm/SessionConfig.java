package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.Family;
import java.net.Inet4Address;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * One peer's session parameters.
 *
 * @param localAs our AS (4-octet, RFC 6793)
 * @param peerAs the AS the peer must announce, else OPEN error Bad Peer AS (RFC 4271 §6.2)
 * @param routerId our BGP identifier
 * @param holdTime our proposed hold time: 0 or at least 3 s (RFC 4271 §4.2)
 * @param keepalive our preferred keepalive interval (capped at a third of the negotiated hold)
 * @param families the families we offer
 * @param passive never connect, only accept
 * @param connectRetry ConnectRetryTimer (RFC 4271 §10: 120 s suggested)
 * @param backoff the automatic restart delays after a session ends
 */
public record SessionConfig(
    long localAs,
    long peerAs,
    Inet4Address routerId,
    Duration holdTime,
    Duration keepalive,
    Set<Family> families,
    boolean passive,
    Duration connectRetry,
    Backoff backoff) {
  /** RFC 4271 §8.2.2: the HoldTimer in OpenSent, before the peer's hold time is known. */
  public static final Duration LARGE_HOLD = Duration.ofMinutes(4);

  public SessionConfig {
    Objects.requireNonNull(routerId, "routerId");
    long hold = holdTime.toSeconds();
    if (hold != 0 && (hold < 3 || hold > 0xffff)) {
      throw new IllegalArgumentException("hold time " + hold + " s: must be 0 or 3..65535");
    }
    if (families.isEmpty()) {
      throw new IllegalArgumentException("a session needs at least one address family");
    }
    families = Set.copyOf(families);
  }

  public boolean ebgp() {
    return localAs != peerAs;
  }
}
