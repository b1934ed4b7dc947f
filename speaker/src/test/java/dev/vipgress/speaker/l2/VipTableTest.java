package dev.vipgress.speaker.l2;

import static dev.vipgress.speaker.l2.TestVectors.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.l2.VipTable.Status;
import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Fencing deadlines on the nanoTime clock, including across its wrap-around. */
class VipTableTest {
  private static final InetAddress VIP = ip("192.168.100.241");
  private final VipTable table = new VipTable();

  @Test
  void liveOnlyBeforeTheDeadline() {
    table.announce(VIP, 1_000, 0);
    assertEquals(Status.LIVE, table.status(VIP, 0));
    assertEquals(Status.LIVE, table.status(VIP, 999));
    assertEquals(Status.FENCED, table.status(VIP, 1_000));
    assertEquals(Status.FENCED, table.status(VIP, 5_000));
    assertEquals(Status.NOT_OWNED, table.status(ip("192.168.100.242"), 0));
  }

  @Test
  void firstAnnouncementIsATakeoverARenewalIsNot() {
    VipTable.Announced first = table.announce(VIP, 1_000, 0);
    assertTrue(first.takeover());
    VipTable.Announced renewal = table.announce(VIP, 2_000, 500);
    assertFalse(renewal.takeover());
    assertEquals(first.entry().term(), renewal.entry().term());
    assertEquals(Status.LIVE, table.status(VIP, 1_500)); // extended
  }

  @Test
  void aShorterDeadlineIsHonoured() {
    table.announce(VIP, 2_000, 0);
    table.announce(VIP, 1_000, 10);
    assertEquals(Status.FENCED, table.status(VIP, 1_500));
  }

  @Test
  void announcingAfterTheDeadlineIsANewTakeover() {
    long term = table.announce(VIP, 1_000, 0).entry().term();
    VipTable.Announced again = table.announce(VIP, 3_000, 1_500);
    assertTrue(again.takeover());
    assertNotEquals(term, again.entry().term());
    assertFalse(table.liveInTerm(VIP, term, 1_600));
    assertTrue(table.liveInTerm(VIP, again.entry().term(), 1_600));
  }

  @Test
  void withdrawIsImmediate() {
    long term = table.announce(VIP, 1_000, 0).entry().term();
    assertTrue(table.withdraw(VIP));
    assertEquals(Status.NOT_OWNED, table.status(VIP, 1));
    assertFalse(table.liveInTerm(VIP, term, 1));
    assertFalse(table.withdraw(VIP));
    assertTrue(table.announce(VIP, 1_000, 2).takeover());
  }

  @Test
  void deadlinesSurviveTheNanoTimeWrapAround() {
    long now = Long.MAX_VALUE - 100;
    long deadline = now + 1_000; // overflows to a negative number
    table.announce(VIP, deadline, now);
    assertEquals(Status.LIVE, table.status(VIP, now + 500));
    assertEquals(Status.FENCED, table.status(VIP, now + 1_000));
  }

  @Test
  void addressesAreComparedWithoutScopeOrHostName() throws Exception {
    InetAddress named = InetAddress.getByAddress("vip.example", VIP.getAddress());
    table.announce(named, 1_000, 0);
    assertEquals(Status.LIVE, table.status(VIP, 1));
    Inet6Address scoped = Inet6Address.getByAddress(null, ip("fd76:100::241").getAddress(), 3);
    table.announce(scoped, 1_000, 0);
    assertEquals(Status.LIVE, table.status(ip("fd76:100::241"), 1));
  }
}
