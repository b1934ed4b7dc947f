package dev.vipgress.speaker.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.Steer;
import dev.vipgress.speaker.model.Backend;
import dev.vipgress.speaker.model.Mode;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.VipSpec;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Which Services a refused datapath element belongs to, by the addresses it names. */
class RefusedElementsTest {
  static final ServiceKey WEB = new ServiceKey("default", "web");
  static final ServiceKey DB = new ServiceKey("db", "db");
  static final InetAddress VIP = Addresses.parse("192.168.100.200");
  static final InetAddress VIP6 = Addresses.parse("fd76:100::200");
  static final InetAddress POD = Addresses.parse("10.244.1.2");

  final Plan plan =
      new Plan(
          Map.of(
              VIP,
              new VipSpec(
                  VIP,
                  Mode.L2,
                  true,
                  new TreeSet<>(Set.of(WEB)),
                  Set.of(new Backend(POD, "node1"))),
              VIP6,
              new VipSpec(VIP6, Mode.L2, true, new TreeSet<>(Set.of(DB)), Set.of())),
          List.of());
  final NodeDesired target =
      new NodeDesired(
          Set.of(),
          Map.of(POD, new Steer("node2", Addresses.parse("192.168.100.12"), VIP)),
          Set.of());

  Set<ServiceKey> of(String element) {
    return RefusedElements.servicesOf(element, plan, target);
  }

  @Test
  void byVipBackendOrOwnersNextHop() {
    assertEquals(Set.of(WEB), of("add element inet vipgress owned4 { 192.168.100.200 }"));
    assertEquals(Set.of(WEB), of("add element inet vipgress steer4 { 10.244.1.2 : 0x01000000 }"));
    assertEquals(Set.of(WEB), of("route replace default via 192.168.100.12 table 7600"));
    assertEquals(Set.of(DB), of("add element inet vipgress owned6 { fd76:100::200 }"));
    assertEquals(Set.of(), of("rule add fwmark 0x1000000/0xff000000 lookup 7600 priority 30000"));
    assertEquals(Set.of(), of("neigh replace 10.9.9.9 lladdr 02:76:67:00:00:0b dev vipgress-vx"));
  }
}
