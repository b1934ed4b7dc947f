package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.Placement.Candidate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
  private static final List<Candidate> THREE =
      List.of(
          new Candidate("node1", true), new Candidate("node2", true), new Candidate("node3", true));

  @Test
  void orderIsTheSameWhateverTheInputOrder() {
    List<Candidate> reversed = List.of(THREE.get(2), THREE.get(1), THREE.get(0));
    for (String vip : FakeCluster.vips(100)) {
      assertEquals(Placement.rank(vip, THREE, null), Placement.rank(vip, reversed, null));
    }
  }

  @Test
  void spreadsEvenly() {
    for (int n : new int[] {1_000, 10_000}) {
      Map<String, Integer> count = new HashMap<>();
      for (String vip : FakeCluster.vips(n)) {
        count.merge(Placement.rank(vip, THREE, null).get(0).node(), 1, Integer::sum);
      }
      double share = n / 3.0;
      for (int c : count.values()) {
        assertTrue(Math.abs(c - share) / share < 0.08, n + " VIPs: " + count);
      }
    }
  }

  @Test
  void removingANodeMovesOnlyItsVips() {
    List<Candidate> two = List.of(THREE.get(0), THREE.get(2));
    for (String vip : FakeCluster.vips(2000)) {
      String before = Placement.rank(vip, THREE, null).get(0).node();
      String after = Placement.rank(vip, two, null).get(0).node();
      if (!before.equals("node2")) {
        assertEquals(before, after, vip);
      }
    }
  }

  @Test
  void fastPathsAgreeWithTheFullOrder() {
    List<String> names = THREE.stream().map(Candidate::node).toList();
    for (String vip : FakeCluster.vips(500)) {
      List<Candidate> full = Placement.rank(vip, THREE, null);
      assertEquals(full.get(0).node(), Placement.first(vip, names));
      long h = Placement.hash(vip);
      for (String prev : new String[] {null, "node2"}) {
        List<Candidate> order = Placement.rank(vip, THREE, prev);
        for (int i = 0; i < 3; i++) {
          for (int j = 0; j < 3; j++) {
            if (i != j) {
              assertEquals(
                  i < j, Placement.before(h, order.get(i).node(), order.get(j).node(), prev));
            }
          }
        }
      }
    }
    assertEquals(Placement.hash("node-é"), Placement.hash("node-é"));
  }

  @Test
  void previousHolderComesFirst() {
    for (String vip : FakeCluster.vips(50)) {
      assertEquals("node3", Placement.rank(vip, THREE, "node3").get(0).node());
      assertEquals(
          Placement.rank(vip, THREE, null), Placement.rank(vip, THREE, "gone"), "unknown holder");
    }
  }
}
