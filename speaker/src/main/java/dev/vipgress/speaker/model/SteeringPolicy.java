package dev.vipgress.speaker.model;

import dev.vipgress.nat.Cidr;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * How this node reaches the owner of a VIP when it steers its local backend pods there: by a plain
 * next hop on the shared L2 segment, or through the VXLAN tunnel.
 *
 * <p>{@code AUTO} (the default) decides per owner node: direct when the owner's IPv4 InternalIP
 * (its IPv6 one if it has no IPv4) lies inside a subnet of one of this node's uplink interfaces,
 * otherwise VXLAN. One decision per owner covers both families, so an owner's routing table is
 * either all direct or all tunnel.
 *
 * @param mode {@code AUTO}, or forced {@code DIRECT} / {@code VXLAN}
 * @param localSubnets the subnets of this node's uplink interfaces (addresses with their prefix
 *     length); with none, {@code AUTO} steers directly (the owner cannot be placed)
 */
public record SteeringPolicy(Mode mode, List<Cidr> localSubnets) {

  /** The configuration values. */
  public enum Mode {
    AUTO,
    DIRECT,
    VXLAN;

    /** {@code auto}, {@code direct} or {@code vxlan} (any case). */
    public static Mode parse(String text) {
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "'" + text + "' is not a steering mode (auto, direct or vxlan)", e);
      }
    }
  }

  public SteeringPolicy {
    localSubnets = List.copyOf(localSubnets);
  }

  /** Always a plain next hop (a single L2 segment; the behaviour before VXLAN steering). */
  public static SteeringPolicy direct() {
    return new SteeringPolicy(Mode.DIRECT, List.of());
  }

  /** Whether this node reaches {@code owner} by a plain next hop on a shared segment. */
  public boolean direct(NodeInfo owner) {
    return switch (mode) {
      case DIRECT -> true;
      case VXLAN -> false;
      case AUTO -> {
        Optional<InetAddress> ref = reference(owner);
        yield localSubnets.isEmpty()
            || ref.isEmpty()
            || localSubnets.stream().anyMatch(c -> c.contains(ref.get()));
      }
    };
  }

  /** The owner's tunnel endpoint: its IPv4 InternalIP. */
  public static Optional<InetAddress> tunnelEndpoint(NodeInfo owner) {
    return addresses(owner).stream().filter(a -> a instanceof Inet4Address).findFirst();
  }

  private static Optional<InetAddress> reference(NodeInfo owner) {
    List<InetAddress> all = addresses(owner);
    return all.stream()
        .filter(a -> a instanceof Inet4Address)
        .findFirst()
        .or(() -> all.stream().findFirst());
  }

  private static List<InetAddress> addresses(NodeInfo owner) {
    return owner.internalIps().stream().map(IpLiteral::parse).flatMap(Optional::stream).toList();
  }
}
