package dev.vipgress.speaker.bgp.rib;

import dev.vipgress.speaker.bgp.codec.Family;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.Optional;
import java.util.Set;

/**
 * What decides how one session carries VIPs.
 *
 * @param families the session's negotiated families: VIPs of other families are not sent on it
 * @param localAs our AS, prepended towards an eBGP peer
 * @param ebgp whether the peer is external (iBGP: empty AS_PATH, RFC 4271 §5.1.2)
 * @param nextHop4 this node's IPv4 address on the session, the next hop of IPv4 VIPs
 * @param nextHop6 this node's IPv6 address on the session, the next hop of IPv6 VIPs
 */
public record SessionRoutes(
    Set<Family> families,
    long localAs,
    boolean ebgp,
    Optional<Inet4Address> nextHop4,
    Optional<Inet6Address> nextHop6) {
  public SessionRoutes {
    families = Set.copyOf(families);
  }

  /** A family is carried when negotiated and this node has a next hop of that family. */
  public boolean carries(Family f) {
    return families.contains(f)
        && (f == Family.IPV4_UNICAST ? nextHop4.isPresent() : nextHop6.isPresent());
  }
}
