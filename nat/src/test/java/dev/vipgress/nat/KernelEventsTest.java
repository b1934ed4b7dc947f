package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Lines as {@code ip -o monitor link route rule} (iproute2 6.1) printed them in a namespace. */
class KernelEventsTest {
  private final NatConfig config =
      NatConfig.builder("eth0").vxlanLocal(Addresses.parse("192.168.100.11")).build();

  @Test
  void ourLinksAndTablesCountOthersDoNot() {
    assertTrue(
        KernelEvents.relevant(
            "3: eth0@if12: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default"
                + " \\    link/ether aa:b6:91:ff:d2:bd brd ff:ff:ff:ff:ff:ff",
            config));
    assertTrue(
        KernelEvents.relevant(
            "Deleted 9: vipgress-vx: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN",
            config));
    assertTrue(
        KernelEvents.relevant(
            "Deleted default via fe80::1 dev eth0 table 7600 metric 1024 pref medium", config));
    assertTrue(KernelEvents.relevant("default via 10.9.0.2 dev eth0 table 7601 ", config));
    assertTrue(KernelEvents.relevant("", config), "the monitor restarted: events may be lost");
    assertFalse(
        KernelEvents.relevant(
            "2: v1@v0: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 state LOWERLAYERDOWN",
            config));
    assertFalse(
        KernelEvents.relevant(
            "broadcast 10.9.0.255 dev v0 table local proto kernel scope link src 10.9.0.1",
            config));
    assertFalse(KernelEvents.relevant("10.9.0.0/24 dev v0 proto kernel scope link", config));
    assertFalse(KernelEvents.relevant("default via 10.9.0.2 dev eth0 table 8000", config));
  }

  @Test
  void ruleEventsOfTheSteeringTablesCount() {
    assertTrue(
        KernelEvents.relevant(
            "Deleted 30000:\tfrom all fwmark 0x1000000/0xff000000 lookup 7600", config));
    assertTrue(
        KernelEvents.relevant("30000:\tfrom all fwmark 0x1000000/0xff000000 lookup 7600", config));
    assertFalse(KernelEvents.relevant("32766:\tfrom all lookup main", config));
    assertFalse(KernelEvents.relevant("Deleted 100:\tfrom all fwmark 0x2 lookup 8000", config));
  }
}
