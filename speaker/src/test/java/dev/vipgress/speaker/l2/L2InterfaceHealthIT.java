package dev.vipgress.speaker.l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import dev.vipgress.speaker.l2.L2Lab.Vip;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Interface down on the owner: healthy() goes false and the callback fires (the daemon then reports
 * unhealthy to election, which moves the VIP); up again: healthy, and the gratuitous burst is
 * repeated. Runs on a veth pair of its own inside node3's namespace (vgl2t0 / vgl2t1, removed
 * afterwards), so the shared LAN is never taken down.
 */
@ExtendWith(LabExtension.class)
class L2InterfaceHealthIT {
  private static final String NODE = "node3";
  private static final String IF = "vgl2t0";
  private static final String PEER = "vgl2t1";
  private static final Mac IF_MAC = Mac.parse("02:76:67:00:02:49");
  private static final Vip VIP = Vip.of("192.168.100.249");
  private static final Duration EVENT = Duration.ofSeconds(5);

  private Lab lab;
  private String netns;
  private AnnouncerProcess announcer;
  private BridgeCapture capture;

  @BeforeEach
  void setUp(Lab lab) {
    this.lab = lab;
    this.netns = lab.netns(NODE);
    deleteVeth();
    createVeth();
  }

  @AfterEach
  void tearDown() {
    if (capture != null) {
      capture.close();
    }
    if (announcer != null) {
      announcer.close();
    }
    deleteVeth();
  }

  @Test
  void interfaceDownIsUnhealthyWithACallbackAndUpRepeatsTheBurst() throws Exception {
    announcer = AnnouncerProcess.start(netns, NODE, IF_MAC, List.of(), "--iface", IF);
    capture = BridgeCapture.start(netns, PEER);
    assertTrue(announcer.healthy());
    announcer.announceAndWait(VIP.address(), Duration.ofMinutes(5));
    awaitGarps(3);

    // administratively down
    int mark = announcer.mark();
    ip("link", "set", IF, "down");
    assertTrue(announcer.awaitHealthEvent(mark, false, EVENT), "no health callback (down)");
    assertFalse(announcer.healthy());
    mark = announcer.mark();
    ip("link", "set", IF, "up");
    assertTrue(announcer.awaitHealthEvent(mark, true, EVENT), "no health callback (up)");
    awaitGarps(6);

    // carrier lost (the peer goes down)
    mark = announcer.mark();
    ip("link", "set", PEER, "down");
    assertTrue(announcer.awaitHealthEvent(mark, false, EVENT), "no health callback (carrier)");
    mark = announcer.mark();
    ip("link", "set", PEER, "up");
    assertTrue(announcer.awaitHealthEvent(mark, true, EVENT), "no health callback (carrier back)");
    awaitGarps(9);
    assertEquals(9.0, announcer.metric("vipgress_l2_garps_sent_total", IF, VIP.address()));

    // deleted, then created again: the capture is reopened on the new interface
    capture.close();
    mark = announcer.mark();
    ip("link", "del", IF);
    assertTrue(announcer.awaitHealthEvent(mark, false, EVENT), "no health callback (deleted)");
    mark = announcer.mark();
    createVeth();
    assertTrue(announcer.awaitHealthEvent(mark, true, EVENT), "no health callback (recreated)");
    assertTrue(announcer.healthy());
    assertEquals(
        12.0,
        awaitMetric(() -> (long) metric(), 12),
        "the burst is repeated on the recreated interface");
  }

  @Test
  void anInterfaceDownAtStartIsUnhealthyUntilItComesUp() throws Exception {
    ip("link", "set", IF, "down");
    announcer = AnnouncerProcess.start(netns, NODE, IF_MAC, List.of(), "--iface", IF);
    assertFalse(announcer.healthy());
    int mark = announcer.mark();
    ip("link", "set", IF, "up");
    assertTrue(announcer.awaitHealthEvent(mark, true, EVENT), "no health callback (up)");
  }

  private double metric() {
    try {
      return announcer.metric("vipgress_l2_garps_sent_total", IF, VIP.address());
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static double awaitMetric(LongSupplier value, long want) throws InterruptedException {
    long end = System.nanoTime() + EVENT.toNanos();
    long v = value.getAsLong();
    while (v < want && System.nanoTime() - end < 0) {
      Thread.sleep(100);
      v = value.getAsLong();
    }
    return v;
  }

  private void awaitGarps(int n) throws InterruptedException {
    long end = System.nanoTime() + EVENT.toNanos();
    long seen = 0;
    while (System.nanoTime() - end < 0) {
      seen =
          capture.frames().stream()
              .filter(f -> f.source().equals(IF_MAC) && f.isGratuitousArpFor(VIP.literal()))
              .count();
      if (seen >= n) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("saw " + seen + " gratuitous ARPs on " + PEER + ", wanted " + n);
  }

  private void createVeth() {
    ip("link", "add", IF, "address", IF_MAC.toString(), "type", "veth", "peer", "name", PEER);
    ip("link", "set", PEER, "up");
    ip("link", "set", IF, "up");
  }

  private void deleteVeth() {
    lab.exec(NODE, "ip", "link", "del", IF); // fails harmlessly when absent
  }

  private void ip(String... args) {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "ip";
    System.arraycopy(args, 0, cmd, 1, args.length);
    lab.exec(NODE, cmd).orThrow(String.join(" ", cmd));
  }
}
