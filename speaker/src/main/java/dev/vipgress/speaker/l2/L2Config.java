package dev.vipgress.speaker.l2;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Configuration of the L2 announcer.
 *
 * @param interfaces interface names or glob patterns ({@link InterfacePattern}) to announce on;
 *     empty means the caller resolves the default (the interface holding the node's InternalIP, see
 *     {@link #interfaceHolding}) before constructing the announcer
 * @param garpCount gratuitous ARP requests / unsolicited NAs per VIP per takeover and per interface
 *     coming back up (the issue asks for at least 3; 1..100)
 * @param garpInterval spacing of that burst (10 ms..10 s; default 200 ms)
 * @param linkPollInterval how often interface state is read (10 ms..10 s; default 100 ms); bounds
 *     how late an interface going down is noticed
 */
public record L2Config(
    List<String> interfaces, int garpCount, Duration garpInterval, Duration linkPollInterval) {

  public static final int DEFAULT_GARP_COUNT = 3;
  public static final Duration DEFAULT_GARP_INTERVAL = Duration.ofMillis(200);
  public static final Duration DEFAULT_LINK_POLL_INTERVAL = Duration.ofMillis(100);

  public L2Config {
    interfaces = List.copyOf(Objects.requireNonNull(interfaces, "interfaces"));
    for (String i : interfaces) {
      InterfacePattern.compile(i); // validates
    }
    if (garpCount < 1 || garpCount > 100) {
      throw new IllegalArgumentException("garpCount must be 1..100, not " + garpCount);
    }
    requireBetween("garpInterval", garpInterval, Duration.ofMillis(10), Duration.ofSeconds(10));
    requireBetween(
        "linkPollInterval", linkPollInterval, Duration.ofMillis(10), Duration.ofSeconds(10));
  }

  /** Defaults (3 × 200 ms, link polled every 100 ms) on the given interfaces. */
  public static L2Config defaults(List<String> interfaces) {
    return new L2Config(
        interfaces, DEFAULT_GARP_COUNT, DEFAULT_GARP_INTERVAL, DEFAULT_LINK_POLL_INTERVAL);
  }

  public L2Config withGarp(int count, Duration interval) {
    return new L2Config(interfaces, count, interval, linkPollInterval);
  }

  public L2Config withInterfaces(List<String> names) {
    return new L2Config(names, garpCount, garpInterval, linkPollInterval);
  }

  /**
   * The interface that holds {@code address} in this network namespace (the default announcing
   * interface is the one holding the node's InternalIP), or empty.
   */
  public static Optional<String> interfaceHolding(InetAddress address) {
    try {
      return Optional.ofNullable(NetworkInterface.getByInetAddress(address))
          .map(NetworkInterface::getName);
    } catch (SocketException e) {
      return Optional.empty();
    }
  }

  List<InterfacePattern> patterns() {
    return interfaces.stream().map(InterfacePattern::compile).toList();
  }

  private static void requireBetween(String name, Duration d, Duration min, Duration max) {
    Objects.requireNonNull(d, name);
    if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
      throw new IllegalArgumentException(name + " must be " + min + ".." + max + ", not " + d);
    }
  }
}
