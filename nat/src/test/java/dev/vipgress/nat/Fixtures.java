package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Desired states shared by the unit tests. */
final class Fixtures {
  private Fixtures() {}

  static final long NOW = 1_000_000_000_000L;
  static final long SECOND = 1_000_000_000L;

  static InetAddress ip(String s) {
    return Addresses.parse(s);
  }

  static Set<Cidr> cluster() {
    return Set.of(
        Cidr.parse("10.244.0.0/16"),
        Cidr.parse("10.244.3.0/24"), // covered by the /16, dropped
        Cidr.parse("10.96.0.0/16"),
        Cidr.parse("192.168.100.11"),
        Cidr.parse("192.168.100.12"),
        Cidr.parse("fd76:244::/32"),
        Cidr.parse("fd76:96::/112"));
  }

  /** node1 owns a v4 and a v6 VIP and a scoped one; one local pod is steered to node2. */
  static NodeDesired owner() {
    Map<InetAddress, Steer> steer = new LinkedHashMap<>();
    steer.put(ip("10.244.1.9"), new Steer("node2", ip("192.168.100.12"), ip("192.168.100.201")));
    steer.put(ip("fd76:244:1::9"), new Steer("node2", ip("fd76:100::12"), ip("fd76:100::201")));
    return new NodeDesired(
        Set.of(
            new OwnedVip(
                ip("192.168.100.200"),
                Set.of(ip("10.244.1.2"), ip("10.244.3.2")),
                NOW + 3 * SECOND),
            new OwnedVip(
                ip("fd76:100::200"),
                Set.of(ip("fd76:244:1::2"), ip("fd76:244:3::2")),
                NOW + 3 * SECOND),
            new OwnedVip(
                ip("192.168.100.210"),
                Set.of(ip("10.244.2.7")),
                NOW + 2 * SECOND,
                Set.of(Cidr.parse("192.168.200.0/24"), Cidr.parse("8.8.8.8")))),
        steer,
        cluster());
  }
}
