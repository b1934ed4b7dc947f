package dev.vipgress.speaker.l2;

import java.net.Inet6Address;
import java.util.Objects;
import java.util.Optional;

/**
 * An ICMPv6 Neighbor Solicitation (RFC 4861 section 4.3) in IPv6 in an Ethernet frame.
 *
 * @param source IPv6 source; {@code ::} during duplicate address detection (section 7.2.2)
 * @param destination the target's solicited-node group, or the target itself (unicast NUD)
 * @param hopLimit IPv6 hop limit; 255 unless forwarded (section 7.1.1 rejects anything else)
 * @param target the address being resolved
 * @param sourceLinkLayer the source link-layer address option (section 4.6.1), if present
 */
public record NeighborSolicitation(
    Mac ethSource,
    Mac ethDestination,
    Inet6Address source,
    Inet6Address destination,
    int hopLimit,
    Inet6Address target,
    Optional<Mac> sourceLinkLayer)
    implements L2Message {

  public NeighborSolicitation {
    Objects.requireNonNull(ethSource);
    Objects.requireNonNull(ethDestination);
    Objects.requireNonNull(source);
    Objects.requireNonNull(destination);
    Objects.requireNonNull(target);
    Objects.requireNonNull(sourceLinkLayer);
  }

  /** A solicitation from duplicate address detection (source {@code ::}). */
  public boolean isDuplicateAddressDetection() {
    return source.isAnyLocalAddress();
  }

  /**
   * The advertisement {@code ourMac} answers with (RFC 4861 section 7.2.4): to the solicitation's
   * source with Solicited set, or, for duplicate address detection, to all-nodes with Solicited
   * clear; Override set; the target link-layer option always included; the VIP as IPv6 source, as
   * if the address were on the interface.
   */
  public NeighborAdvertisement answerFrom(Mac ourMac) {
    if (isDuplicateAddressDetection()) {
      return new NeighborAdvertisement(
          ourMac,
          Mac.ipv6Multicast(L2Constants.ALL_NODES),
          target,
          L2Constants.ALL_NODES,
          L2Constants.NDP_HOP_LIMIT,
          target,
          false,
          false,
          true,
          Optional.of(ourMac));
    }
    return new NeighborAdvertisement(
        ourMac,
        sourceLinkLayer.orElse(ethSource),
        target,
        source,
        L2Constants.NDP_HOP_LIMIT,
        target,
        false,
        true,
        true,
        Optional.of(ourMac));
  }
}
