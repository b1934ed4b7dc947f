package dev.vipgress.speaker.bgp.codec;

import java.net.InetAddress;
import java.util.Objects;

/**
 * An IP prefix as carried in NLRI (RFC 4271 §4.3, RFC 4760 §5). vipgress announces only host routes
 * ({@link #host}); received prefixes can have any valid length.
 */
public record Prefix(InetAddress address, int length) {
  public Prefix {
    Objects.requireNonNull(address, "address");
    int max = Family.of(address).hostLength();
    if (length < 0 || length > max) {
      throw new IllegalArgumentException("prefix length " + length + " outside 0.." + max);
    }
  }

  /** The /32 or /128 of one VIP. */
  public static Prefix host(InetAddress vip) {
    return new Prefix(vip, Family.of(vip).hostLength());
  }

  public Family family() {
    return Family.of(address);
  }

  @Override
  public String toString() {
    return address.getHostAddress() + "/" + length;
  }
}
