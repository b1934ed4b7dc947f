package dev.vipgress.speaker.model;

import dev.vipgress.nat.Addresses;
import java.net.InetAddress;
import java.util.Set;
import java.util.SortedSet;

/**
 * One VIP as every node must see it: announced in {@code mode}; with {@code egress}, its backends
 * leave the cluster with the VIP as source.
 */
public record VipSpec(
    InetAddress vip,
    Mode mode,
    boolean egress,
    SortedSet<ServiceKey> services,
    Set<Backend> backends) {
  public VipSpec {
    services = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(services));
    backends = Set.copyOf(backends);
  }

  public String text() {
    return Addresses.format(vip);
  }
}
