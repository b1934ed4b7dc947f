package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Open;
import java.net.Inet4Address;
import java.time.Duration;
import java.util.Set;

/**
 * What both OPENs agreed on.
 *
 * @param holdTime the smaller of both hold times, zero meaning no hold and keepalive timers (RFC
 *     4271 §4.2)
 * @param keepalive our keepalive interval: a third of the hold time, or the configured one if
 *     shorter (RFC 4271 §10)
 * @param families the families both sides announced (RFC 4760 §8; none means IPv4 unicast)
 * @param peer the peer's OPEN
 * @param localId our BGP identifier
 */
public record Negotiated(
    Duration holdTime, Duration keepalive, Set<Family> families, Open peer, Inet4Address localId) {
  public Negotiated {
    families = Set.copyOf(families);
  }
}
