package dev.vipgress.speaker.bgp.codec;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Optional;

/** The address families vipgress speaks (RFC 4760 §6 AFI/SAFI numbers). */
public enum Family {
  IPV4_UNICAST(1, 1, 32),
  IPV6_UNICAST(2, 1, 128);

  private final int afi;
  private final int safi;
  private final int hostLength;

  Family(int afi, int safi, int hostLength) {
    this.afi = afi;
    this.safi = safi;
    this.hostLength = hostLength;
  }

  public int afi() {
    return afi;
  }

  public int safi() {
    return safi;
  }

  /** 32 or 128: the prefix length of one host route of this family. */
  public int hostLength() {
    return hostLength;
  }

  public static Optional<Family> of(int afi, int safi) {
    for (Family f : values()) {
      if (f.afi == afi && f.safi == safi) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  public static Family of(InetAddress address) {
    return address instanceof Inet4Address ? IPV4_UNICAST : IPV6_UNICAST;
  }
}
