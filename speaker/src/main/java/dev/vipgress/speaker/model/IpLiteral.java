package dev.vipgress.speaker.model;

import dev.vipgress.nat.Addresses;
import java.net.InetAddress;
import java.util.Optional;

/** IP literals from Kubernetes objects, parsed without ever doing a DNS lookup. */
public final class IpLiteral {
  private IpLiteral() {}

  /** The address, or empty when {@code s} is not an IP literal. */
  public static Optional<InetAddress> parse(String s) {
    if (s == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Addresses.parse(s));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
