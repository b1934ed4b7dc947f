package dev.vipgress.speaker.l2;

import java.net.Inet6Address;
import java.util.Objects;
import java.util.Optional;

/**
 * An ICMPv6 Neighbor Advertisement (RFC 4861 section 4.4) in IPv6 in an Ethernet frame.
 *
 * @param router the R flag
 * @param solicited the S flag: an answer to a solicitation (must be clear to a multicast
 *     destination)
 * @param override the O flag: the receiver replaces a cached link-layer address (section 7.2.5)
 * @param targetLinkLayer the target link-layer address option (section 4.6.1), if present
 */
public record NeighborAdvertisement(
    Mac ethSource,
    Mac ethDestination,
    Inet6Address source,
    Inet6Address destination,
    int hopLimit,
    Inet6Address target,
    boolean router,
    boolean solicited,
    boolean override,
    Optional<Mac> targetLinkLayer)
    implements L2Message {

  public NeighborAdvertisement {
    Objects.requireNonNull(ethSource);
    Objects.requireNonNull(ethDestination);
    Objects.requireNonNull(source);
    Objects.requireNonNull(destination);
    Objects.requireNonNull(target);
    Objects.requireNonNull(targetLinkLayer);
  }

  /**
   * An unsolicited advertisement that {@code vip} is at {@code mac} (RFC 4861 section 7.2.6): to
   * all-nodes ff02::1, hop limit 255, Override set, Solicited clear, target link-layer option.
   * Linux replaces an existing neighbour entry on it (pcap4j.md).
   */
  public static NeighborAdvertisement unsolicited(Mac mac, Inet6Address vip) {
    return new NeighborAdvertisement(
        mac,
        Mac.ipv6Multicast(L2Constants.ALL_NODES),
        vip,
        L2Constants.ALL_NODES,
        L2Constants.NDP_HOP_LIMIT,
        vip,
        false,
        false,
        true,
        Optional.of(mac));
  }
}
