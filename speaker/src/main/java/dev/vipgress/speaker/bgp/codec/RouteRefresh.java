package dev.vipgress.speaker.bgp.codec;

import java.util.Optional;

/**
 * ROUTE-REFRESH (RFC 2918 §3). AFI/SAFI are kept raw: a request for a family we did not negotiate
 * is ignored (RFC 2918 §4), not an error.
 */
public record RouteRefresh(int afi, int safi) implements BgpMessage {
  public RouteRefresh {
    if (afi < 0 || afi > 0xffff || safi < 0 || safi > 0xff) {
      throw new IllegalArgumentException("AFI/SAFI " + afi + "/" + safi + " out of range");
    }
  }

  public static RouteRefresh of(Family family) {
    return new RouteRefresh(family.afi(), family.safi());
  }

  public Optional<Family> family() {
    return Family.of(afi, safi);
  }

  @Override
  public int type() {
    return BgpConstants.TYPE_ROUTE_REFRESH;
  }
}
