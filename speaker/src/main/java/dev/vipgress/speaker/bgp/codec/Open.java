package dev.vipgress.speaker.bgp.codec;

import java.net.Inet4Address;
import java.util.Objects;
import java.util.Set;

/**
 * OPEN (RFC 4271 §4.2) with the capabilities vipgress uses (RFC 5492): multiprotocol per family
 * (RFC 4760 §8), 4-octet AS (RFC 6793 §3) and route refresh (RFC 2918 §2).
 *
 * @param asNumber the sender's AS, from the 4-octet AS capability when present (RFC 6793 §4.1)
 * @param holdTime seconds, 0 or at least 3 (RFC 4271 §4.2)
 * @param bgpIdentifier the sender's BGP identifier (RFC 4271 §4.2, RFC 6286)
 * @param families the multiprotocol capabilities we understand (others are ignored)
 * @param fourOctetAs whether the 4-octet AS capability was present
 * @param routeRefresh whether the route refresh capability was present
 */
public record Open(
    long asNumber,
    int holdTime,
    Inet4Address bgpIdentifier,
    Set<Family> families,
    boolean fourOctetAs,
    boolean routeRefresh)
    implements BgpMessage {
  public Open {
    if (asNumber < 0 || asNumber > 0xffff_ffffL) {
      throw new IllegalArgumentException("AS " + asNumber + " outside 0..4294967295");
    }
    if (holdTime < 0 || holdTime > 0xffff) {
      throw new IllegalArgumentException("hold time " + holdTime + " outside 0..65535");
    }
    Objects.requireNonNull(bgpIdentifier, "bgpIdentifier");
    families = Set.copyOf(families);
  }

  /** What vipgress sends: all three capabilities. */
  public static Open ours(
      long asNumber, int holdTime, Inet4Address routerId, Set<Family> families) {
    return new Open(asNumber, holdTime, routerId, families, true, true);
  }

  @Override
  public int type() {
    return BgpConstants.TYPE_OPEN;
  }
}
