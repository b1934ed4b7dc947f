package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GenesisTest {

  @Test
  void consecutiveVipsBecomeRangesAndEveryCoveredVipIsFoundAgain() {
    Set<String> vips =
        Set.of("10.0.0.255", "10.0.1.0", "10.0.1.1", "10.0.0.7", "fd00::ffff", "fd00::1:0", "::");
    assertEquals(
        "10.0.0.7+1,10.0.0.255+3,::+1,fd00::ffff+2", Genesis.encode(vips, Genesis.MAX_VIPS_TEXT));
    Genesis g = genesis(vips);
    List<String> seen = new ArrayList<>();
    g.forEachVip(seen::add);
    assertEquals(
        List.of("10.0.0.7", "10.0.0.255", "10.0.1.0", "10.0.1.1", "::", "fd00::ffff", "fd00::1:0"),
        seen);
    for (String v : vips) {
      assertTrue(g.covers(v), v);
    }
    for (String v : List.of("10.0.0.6", "10.0.0.8", "10.0.1.2", "::1", "fd00::1:1", "0.0.0.0")) {
      assertFalse(g.covers(v), v);
    }
  }

  @Test
  void aLongListIsCutAtWholeRangesBelowTheAnnotationLimit() {
    List<String> vips = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      vips.add("10.0." + i + ".1"); // no two consecutive: one range each
    }
    String text = Genesis.encode(vips, 120);
    assertTrue(text.length() <= 120, text);
    assertTrue(text.endsWith("+1") && !text.contains(",,"), text);
    assertEquals(text.split(",").length, genesisText(text).ranges().size());
  }

  @Test
  void everyNodeComputesTheSameMemberForAVip() {
    Genesis g = genesis(Set.of("10.0.0.1", "10.0.0.2"));
    String[] h = g.holderOf("10.0.0.1");
    assertEquals(Placement.first("10.0.0.1", Set.of("a", "b", "c")), h[0]);
    assertEquals("inc-" + h[0], h[1]);
    assertTrue(g.names(h[0], "inc-" + h[0]));
    assertFalse(g.names(h[0], "other"));
  }

  @Test
  void unusableAnnotationsGiveNoRecord() {
    assertNull(genesisText("10.0.0.1"));
    assertNull(genesisText("10.0.0.1+0"));
    assertNull(genesisText("banana+3"));
    assertNull(genesisText(""));
  }

  private static Genesis genesis(Set<String> vips) {
    return genesisText(Genesis.encode(vips, Genesis.MAX_VIPS_TEXT));
  }

  private static Genesis genesisText(String vipsText) {
    V1Lease l =
        Genesis.newLease(
            "ns", "a", List.of("10.9.9.9"), Map.of("a", "inc-a", "b", "inc-b", "c", "inc-c"), 1);
    l.getMetadata().getAnnotations().put(Genesis.VIPS, vipsText);
    return Genesis.of(l);
  }
}
