package dev.vipgress.nat;

import static dev.vipgress.nat.Fixtures.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NatPlanTest {
  private final NatConfig config = NatConfig.builder("eth0").build();

  @Test
  void clusterRangesAreNormalised() {
    NatPlan p = NatPlan.of(Fixtures.owner(), config, Map.of("node2", 0));
    assertEquals(
        Set.of("10.244.0.0/16", "10.96.0.0/16", "192.168.100.11", "192.168.100.12"),
        p.table().get("cluster4").keySet());
  }

  @Test
  void aPodBackingTwoVipsEgressesAsTheLowest() {
    NodeDesired d =
        new NodeDesired(
            Set.of(
                new OwnedVip(ip("192.168.100.201"), Set.of(ip("10.244.1.2")), 1),
                new OwnedVip(ip("192.168.100.200"), Set.of(ip("10.244.1.2")), 1)),
            Map.of(),
            Set.of());
    NatPlan p = NatPlan.of(d, config, Map.of());
    assertEquals(Map.of("10.244.1.2", "192.168.100.200"), p.table().get("snat4"));
    assertEquals(1, p.conflicts().size());
  }

  @Test
  void ownedWinsOverSteeringAndFamiliesMustMatch() {
    Map<InetAddress, Steer> steer = new LinkedHashMap<>();
    steer.put(ip("10.244.1.2"), new Steer("node2", ip("192.168.100.12"), ip("192.168.100.201")));
    steer.put(ip("10.244.1.3"), new Steer("node2", ip("fd76:100::12"), ip("192.168.100.201")));
    NodeDesired d =
        new NodeDesired(
            Set.of(new OwnedVip(ip("192.168.100.200"), Set.of(ip("10.244.1.2")), 1)),
            steer,
            Set.of());
    NatPlan p = NatPlan.of(d, config, Map.of("node2", 3));
    assertTrue(p.table().get("steer4").isEmpty());
    assertEquals(2, p.conflicts().size());
  }

  @Test
  void localEgressBackendsAndSteeredPodsAreHeldClosedWhateverTheOwnership() {
    Map<InetAddress, Steer> steer = new LinkedHashMap<>();
    steer.put(ip("10.244.1.3"), new Steer("node2", ip("192.168.100.12"), ip("192.168.100.201")));
    NodeDesired d =
        new NodeDesired(
            Set.of(),
            steer,
            Set.of(),
            Map.of(
                ip("10.244.1.2"), Set.of(),
                ip("fd76:244:1::2"), Set.of(),
                ip("10.244.1.4"), Set.of(Cidr.parse("8.8.8.0/24"), Cidr.parse("fd00::/8"))));
    NatPlan p = NatPlan.of(d, config, Map.of("node2", 0));
    assertEquals(Set.of("10.244.1.2", "10.244.1.3"), p.table().get("backends4").keySet());
    assertEquals(Set.of("fd76:244:1::2"), p.table().get("backends6").keySet());
    assertEquals(Set.of("10.244.1.4 . 8.8.8.0/24"), p.table().get("backends4s").keySet());
  }

  @Test
  void steeringUsesTheSlotMarkAndScope() {
    NatPlan p = NatPlan.of(Fixtures.owner(), config, Map.of("node2", 4));
    assertEquals(Map.of("10.244.1.9", "0x00050000"), p.table().get("steer4"));
    assertEquals(Map.of("fd76:244:1::9", "0x00050000"), p.table().get("steer6"));
    assertEquals(
        new NatPlan.SlotRoute("node2", ip("192.168.100.12"), ip("fd76:100::12")), p.slots().get(4));
    assertEquals(
        Map.of(
            "10.244.2.7 . 192.168.200.0/24",
            "192.168.100.210",
            "10.244.2.7 . 8.8.8.8",
            "192.168.100.210"),
        p.table().get("snat4s"));
  }

  @Test
  void slotsAreStableReusedFromTheKernelAndNotRecycledAtOnce() {
    NodeDesired two = steering("node2", "192.168.100.12", "node3", "192.168.100.13");
    Map<String, Integer> s1 = NatPlan.assignSlots(two, config, Map.of(), Map.of());
    assertEquals(Map.of("node2", 0, "node3", 1), s1);
    // node2 leaves, node4 arrives: node3 keeps 1, node4 must not take node2's 0 at once
    NodeDesired next = steering("node3", "192.168.100.13", "node4", "192.168.100.14");
    assertEquals(Map.of("node3", 1, "node4", 2), NatPlan.assignSlots(next, config, s1, Map.of()));
    // after a restart the kernel's tables tell which slot pointed where
    Map<Integer, Set<InetAddress>> kernel =
        Map.of(7, Set.of(ip("192.168.100.13")), 0, Set.of(ip("192.168.100.99")));
    assertEquals(
        Map.of("node3", 7, "node4", 1), NatPlan.assignSlots(next, config, Map.of(), kernel));
  }

  @Test
  void tooManyOwnersFails() {
    NatConfig tiny = NatConfig.builder("eth0").fwmarkMask(0x3).build();
    NodeDesired d =
        steering(
            "a", "192.168.100.1", "b", "192.168.100.2", "c", "192.168.100.3", "d", "192.168.100.4");
    assertThrows(
        IllegalStateException.class, () -> NatPlan.assignSlots(d, tiny, Map.of(), Map.of()));
  }

  @Test
  void markMath() {
    assertEquals(255, config.maxSlots());
    assertEquals(0x00010000, config.markOf(0));
    assertEquals(0, config.slotOf(0x00010000));
    assertEquals(-1, config.slotOf(0x4000));
    assertThrows(
        IllegalArgumentException.class, () -> NatConfig.builder().fwmarkMask(0x00ff00ff).build());
  }

  private static NodeDesired steering(String... ownerAndHop) {
    Map<InetAddress, Steer> m = new LinkedHashMap<>();
    for (int i = 0; i < ownerAndHop.length; i += 2) {
      m.put(
          ip("10.244.1." + (10 + i)),
          new Steer(ownerAndHop[i], ip(ownerAndHop[i + 1]), ip("192.168.100.200")));
    }
    return new NodeDesired(Set.of(), m, Set.of());
  }
}
