package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelTest {
  @Test
  void cidr() {
    assertEquals("10.244.0.0/16", Cidr.parse("10.244.7.9/16").toString());
    assertEquals(Cidr.parse("10.244.0.0/16"), Cidr.parse("10.244.1.1/16"));
    assertEquals("fd76:244::/32", Cidr.parse("fd76:0244:0:0::1/32").toString());
    assertTrue(Cidr.parse("10.0.0.0/8").contains(Cidr.parse("10.1.0.0/16")));
    assertFalse(Cidr.parse("10.0.0.0/8").contains(Fixtures.ip("fd00::1")));
    assertEquals(32, Cidr.parse("1.2.3.4").prefix());
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse("example.com/8"));
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/33"));
  }

  @Test
  void ipv6Formatting() {
    assertEquals("fd76:100::200", Addresses.format(Fixtures.ip("fd76:100:0:0:0:0:0:200")));
    assertEquals("::", Addresses.format(Fixtures.ip("::")));
    assertEquals("1::1:0:0:1", Addresses.format(Fixtures.ip("1:0:0:0:1:0:0:1")));
    assertEquals("fd00:1:0:2:3:4:5:6", Addresses.format(Fixtures.ip("fd00:1:0:2:3:4:5:6")));
  }

  @Test
  void json() {
    Object o = Json.parse("{\"a\": [1, 2.5, \"x\\\"y\", true, null, {}], \"b\": \"\\u0041\"}");
    assertEquals(
        Map.of("a", java.util.Arrays.asList(1, 2.5, "x\"y", true, null, Map.of()), "b", "A"), o);
    assertEquals(List.of(), Json.parse(" [ ] "));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\" 1}"));
  }

  @Test
  void desiredStateText() {
    DesiredStateText t =
        DesiredStateText.parse(
            "generation 4\ncluster 10.244.0.0/16\n"
                + "own 192.168.100.200 backends=10.244.1.2,10.244.3.2 scope=8.8.8.0/24\n"
                + "steer 10.244.3.2 owner=node1 via=192.168.100.11 vip=192.168.100.200\n",
            42);
    assertEquals(4, t.generation());
    OwnedVip o = t.desired().owned().iterator().next();
    assertEquals(42, o.deadlineNanos());
    assertEquals(2, o.backends().size());
    assertEquals("node1", t.desired().steering().get(Fixtures.ip("10.244.3.2")).ownerNode());
    assertThrows(
        IllegalArgumentException.class, () -> DesiredStateText.parse("steer 10.0.0.1 owner=x", 0));
  }
}
