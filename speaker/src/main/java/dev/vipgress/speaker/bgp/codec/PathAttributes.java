package dev.vipgress.speaker.bgp.codec;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.List;
import java.util.Optional;

/**
 * The path attributes of an UPDATE that vipgress writes or reads (RFC 4271 §5.1). ORIGIN is always
 * IGP on what we send.
 *
 * @param asPath one AS_SEQUENCE, 4-octet ASNs (RFC 6793 §4.1); empty towards an iBGP peer
 * @param nextHop4 NEXT_HOP (RFC 4271 §5.1.3), required when IPv4 prefixes are announced
 * @param nextHop6 the MP_REACH_NLRI global next hop (RFC 4760 §3, RFC 2545 §3), for IPv6
 * @param communities COMMUNITIES (RFC 1997)
 * @param largeCommunities LARGE_COMMUNITY (RFC 8092)
 */
public record PathAttributes(
    List<Long> asPath,
    Optional<Inet4Address> nextHop4,
    Optional<Inet6Address> nextHop6,
    List<Community> communities,
    List<LargeCommunity> largeCommunities) {
  public PathAttributes {
    asPath = List.copyOf(asPath);
    communities = List.copyOf(communities);
    largeCommunities = List.copyOf(largeCommunities);
  }
}
