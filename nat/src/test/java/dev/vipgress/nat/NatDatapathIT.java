package dev.vipgress.nat;

import static dev.vipgress.nat.NatLab.VIP4;
import static dev.vipgress.nat.NatLab.VIP6;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The egress datapath in the lab: node1..3 with kube-proxy, pods in slots, the echo service on ext.
 * One agent ({@link NatAgentMain}) per node holds the kernel state; the tests move ownership by
 * rewriting the agents' desired state, and kill or freeze them.
 */
@ExtendWith(LabExtension.class)
class NatDatapathIT {
  private static final NatLab.Layout LAYOUT =
      new NatLab.Layout(List.of("node1-p1", "node2-p1", "node3-p1"), true);
  private static final Duration SURVIVE = Duration.ofSeconds(30);

  private NatLab nl;

  @BeforeEach
  void setUp(Lab lab) {
    nl = new NatLab(lab);
    nl.awaitQuiet(Duration.ofMinutes(3));
  }

  @AfterEach
  void tearDown() {
    nl.close();
  }

  @Test
  void backendsEgressAsTheVipAndNothingElseChanges() {
    for (String n : List.of("node1", "node2", "node3")) {
      assertTrue(
          nl.lab.execOk(n, "nft", "list", "tables").contains("kube-proxy"),
          "kube-proxy runs beside us on " + n);
    }
    nl.agent("node1", "node1", LAYOUT);
    nl.agent("node2", "node1", LAYOUT);
    nl.agent("node3", "node1", LAYOUT);
    nl.announce("node1", true);

    for (String slot : LAYOUT.backends()) {
      assertEquals(
          VIP4, nl.seenBy(slot, false), slot + " (local or remote backend) egresses as the VIP");
      assertEquals(VIP6, nl.seenBy(slot, true), slot + " egresses as the IPv6 VIP");
    }
    for (String slot : List.of("node1-p2", "node3-p2")) {
      assertEquals(nl.slotIp(slot, false), nl.seenBy(slot, false), slot + " is not a backend");
      assertEquals(nl.slotIp(slot, true), nl.seenBy(slot, true), slot + " is not a backend");
    }

    // pod-to-pod and pod-to-node: no NAT, and not steered through the owner
    String pod = nl.slotIp("node3-p1", false);
    String other = nl.slotIp("node1-p2", false);
    String node2 = nl.lab.ipv4("node2");
    nl.lab.execOk("node3-p1", "ping", "-c", "1", "-W", "2", other);
    nl.lab.execOk("node3-p1", "ping", "-c", "1", "-W", "2", node2);
    String ct3 = nl.lab.exec("node3", "conntrack", "-L", "-p", "icmp", "-s", pod).stdout();
    assertTrue(ct3.contains("src=" + other + " dst=" + pod), "pod-to-pod not NATed: " + ct3);
    assertTrue(ct3.contains("src=" + node2 + " dst=" + pod), "pod-to-node not NATed: " + ct3);
    String ct1 =
        nl.lab.exec("node1", "conntrack", "-L", "-p", "icmp", "-s", pod, "-d", node2).stdout();
    assertFalse(ct1.contains("dst=" + node2), "pod-to-node was steered via the owner: " + ct1);
    String pod6 = nl.slotIp("node3-p1", true);
    nl.lab.execOk("node3-p1", "ping", "-6", "-c", "1", "-W", "2", nl.slotIp("node1-p2", true));
    String ct36 =
        nl.lab.exec("node3", "conntrack", "-L", "-f", "ipv6", "-p", "icmpv6", "-s", pod6).stdout();
    assertTrue(ct36.contains("dst=" + pod6 + " "), "IPv6 pod-to-pod not NATed: " + ct36);
  }

  @Test
  void whatIsSteeredToANodeThatDoesNotSnatItIsDroppedNotLeakedWithThePodIp() {
    // A takeover race: node2 already steers its backend to node1 (it learnt the new owner first),
    // node1 has not installed the VIP's SNAT yet. node1 must drop, not forward with the pod IP.
    nl.agent("node1", "node3", LAYOUT);
    nl.agent("node2", "node1", LAYOUT);
    nl.announce("node1", true);
    assertNull(nl.seenBy("node2-p1", false), "steered to a non-owner: dropped, never leaked");
    assertNull(nl.seenBy("node2-p1", true), "IPv6: dropped, never leaked");
    // node1's own non-backend traffic and the cluster's are untouched
    assertEquals(nl.slotIp("node1-p2", false), nl.seenBy("node1-p2", false));
  }

  @Test
  void aLocalBackendWithNoOwnerAnywhereIsDroppedNotLeakedEvenUnderAMasquerade() {
    // between a bulk release and the written Lease, after a deadline loss, in an apiserver outage:
    // the node knows its backends but no live owner; it must neither leak the pod IP nor let a
    // CNI masquerade send the packets out as the node IP
    nl.masquerade("node3", "10.244.3.0/24");
    nl.agent("node2", null, LAYOUT);
    nl.agent("node3", null, LAYOUT);
    assertNull(nl.seenBy("node2-p1", false), "no owner: dropped, not sent as the pod IP");
    assertNull(nl.seenBy("node2-p1", true), "IPv6: dropped, not sent as the pod IP");
    assertNull(nl.seenBy("node3-p1", false), "no owner: dropped, not masqueraded");
    assertEquals(nl.lab.ipv4("node3"), nl.seenBy("node3-p2", false), "others: the masquerade");
    assertEquals(nl.slotIp("node2-p2", false), nl.seenBy("node2-p2", false), "others: untouched");
  }

  @Test
  void steeringRoutesTheKernelFlushedWithALinkComeBackWhenItReturns() {
    nl.agent("node1", "node1", LAYOUT);
    nl.agent("node2", "node1", LAYOUT);
    nl.announce("node1", true);
    assertEquals(VIP4, nl.seenBy("node2-p1", false));
    String table = Integer.toString(NatLab.TABLE_BASE);
    String want = "default via " + nl.lab.ipv4("node1");
    assertTrue(nl.lab.execOk("node2", "ip", "route", "show", "table", table).contains(want));

    // the lab's own routes go with the link too: put them back as an operator's network would
    List<String> main4 = staticRoutes("-4");
    List<String> main6 = staticRoutes("-6");
    nl.lab.execOk("node2", "sysctl", "-qw", "net.ipv6.conf.eth0.keep_addr_on_down=1");
    try {
      nl.lab.execOk("node2", "ip", "link", "set", "eth0", "down");
      NatLab.sleep(300);
      assertFalse(
          nl.lab.execOk("node2", "ip", "route", "show", "table", table).contains(want),
          "the kernel flushed the steering route with the link");
      nl.lab.execOk("node2", "ip", "link", "set", "eth0", "up");
      long up = System.nanoTime();
      long back = -1;
      long end = up + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < end) {
        if (nl.lab.execOk("node2", "ip", "route", "show", "table", table).contains(want)) {
          back = System.nanoTime();
          break;
        }
        NatLab.sleep(20);
      }
      assertTrue(back > 0, "the steering route came back after the link returned");
      System.out.printf("natLinkRestored steeringRouteBackMs=%d%n", (back - up) / 1_000_000);
    } finally {
      restore("-4", main4);
      restore("-6", main6);
      nl.lab.exec("node2", "sysctl", "-qw", "net.ipv6.conf.eth0.keep_addr_on_down=0");
    }
    assertEquals(VIP4, nl.seenBy("node2-p1", false), "and the pod egresses as the VIP again");
  }

  private List<String> staticRoutes(String family) {
    return nl.lab
        .execOk("node2", "ip", family, "route", "show")
        .lines()
        .map(String::strip)
        .filter(l -> !l.isEmpty() && !l.contains("proto kernel") && !l.contains("proto ra"))
        .filter(l -> !l.startsWith("multicast") && !l.startsWith("fe80"))
        .toList();
  }

  private void restore(String family, List<String> routes) {
    for (String r : routes) {
      List<String> cmd = new java.util.ArrayList<>(List.of("ip", family, "route", "replace"));
      cmd.addAll(List.of(r.split("\\s+")));
      for (int i = 0; i < 50 && !nl.lab.exec("node2", cmd.toArray(String[]::new)).ok(); i++) {
        NatLab.sleep(100); // an IPv6 prefix route returns after DAD
      }
    }
  }

  @Test
  void steeredBackendBeatsACniMasquerade() {
    nl.masquerade("node3", "10.244.3.0/24");
    nl.agent("node1", "node1", LAYOUT);
    nl.agent("node3", "node1", LAYOUT);
    nl.announce("node1", true);
    assertEquals(nl.lab.ipv4("node3"), nl.seenBy("node3-p2", false), "the masquerade works");
    assertEquals(VIP4, nl.seenBy("node3-p1", false), "the identity SNAT binds first");
  }

  @ParameterizedTest
  @ValueSource(strings = {"KILL", "STOP"})
  void deadHolderStopsSnatByTheDeadline(String signal) {
    NatLab.Agent owner = nl.agent("node1", "node1", LAYOUT);
    nl.agent("node3", "node1", LAYOUT);
    nl.announce("node1", true);
    assertEquals(VIP4, nl.seenBy("node1-p1", false));
    assertEquals(VIP4, nl.seenBy("node3-p1", false));
    assertEquals(VIP6, nl.seenBy("node3-p1", true));

    owner.signal(signal);
    NatLab.sleep(NatLab.TTL_MS + 300);

    assertNull(nl.seenBy("node1-p1", false), "local backend neither SNATed nor leaked");
    assertNull(nl.seenBy("node3-p1", false), "remote backend neither SNATed nor leaked");
    assertNull(nl.seenBy("node3-p1", true), "IPv6 backend neither SNATed nor leaked");
    assertEquals(nl.slotIp("node1-p2", false), nl.seenBy("node1-p2", false), "others unaffected");
    String alive = nl.lab.execOk("node1", "nft", "list", "set", "inet", NatLab.TABLE, "alive");
    assertFalse(alive.contains("ipv4"), "the kernel's heartbeat lapsed by itself: " + alive);

    if (signal.equals("STOP")) {
      owner.signal("CONT");
      NatLab.sleep(NatLab.TTL_MS);
      assertEquals(VIP4, nl.seenBy("node1-p1", false), "a thawed holder re-arms its VIPs");
    }
  }

  @Test
  void plannedMoveKeepsEstablishedFlows() {
    Moves m = plannedMove();
    for (NatLab.Probe p : m.flows) {
      assertTrue(
          p.echoesAfter(m.doneMillis, SURVIVE),
          p.slot + " flow survives the planned move: " + p.closed);
    }
    report("planned", m);
  }

  @Test
  void plannedMoveWithoutConntrackCleanupBreaksFlows() {
    Moves m = plannedMove("--no-conntrack-cleanup");
    NatLab.Probe newOwnersPod = m.flows.get(1);
    NatLab.Probe oldOwnersPod = m.flows.get(0);
    assertFalse(
        newOwnersPod.echoesAfter(m.doneMillis + 3000, Duration.ofSeconds(15)),
        "stale identity binding");
    broken("planned-no-cleanup", m);
    assertFalse(
        oldOwnersPod.echoesAfter(m.doneMillis + 3000, Duration.ofSeconds(1)), "stale SNAT binding");
  }

  @Test
  void crashMoveKeepsEstablishedFlows() {
    Moves m = crashMove();
    for (NatLab.Probe p : m.flows) {
      assertTrue(
          p.echoesAfter(m.doneMillis, SURVIVE),
          p.slot + " flow survives the crash move: " + p.closed);
    }
    report("crash", m);
  }

  @Test
  void crashMoveWithoutGuardBreaksTheRemoteFlow() {
    Moves m = crashMove("--no-guard");
    NatLab.Probe remote = m.flows.get(1);
    assertFalse(
        remote.echoesAfter(m.doneMillis + 3000, Duration.ofSeconds(15)),
        "ext's retransmission created a clashing entry on the new owner");
    broken("crash-no-guard", m);
  }

  // ---------------------------------------------------------------------------------------------

  private record Moves(List<NatLab.Probe> flows, long startMillis, long doneMillis) {}

  /** node1 → node2 with every node alive, in the architecture's order. */
  private Moves plannedMove(String... flags) {
    NatLab.Agent a1 = nl.agent("node1", "node1", LAYOUT, flags);
    NatLab.Agent a2 = nl.agent("node2", "node1", LAYOUT, flags);
    NatLab.Agent a3 = nl.agent("node3", "node1", LAYOUT, flags);
    nl.announce("node1", true);
    List<NatLab.Probe> flows =
        List.of(
            nl.flow("node1-p1", false),
            nl.flow("node2-p1", false),
            nl.flow("node3-p1", false),
            nl.flow("node3-p1", true));
    for (NatLab.Probe p : flows) {
      assertTrue(p.peer.startsWith(p.v6 ? VIP6 : VIP4), p.slot + " starts as the VIP: " + p.peer);
    }
    NatLab.sleep(500);
    long start = System.currentTimeMillis();
    a2.set("node2", LAYOUT); // takeover: SNAT + guard, stop steering own pods, clean conntrack
    nl.announce("node2", true); // GARP
    a1.set("node2", LAYOUT); // release: steer to node2, remove SNAT, clean conntrack
    a3.set("node2", LAYOUT);
    return new Moves(flows, start, System.currentTimeMillis());
  }

  /**
   * node1's holder dies; node2 takes over after node1's deadline, ext learns the new owner at once
   * but node3 only 3 s later — the order in which ext's retransmissions reach the new owner first.
   */
  private Moves crashMove(String... flags) {
    NatLab.Agent a1 = nl.agent("node1", "node1", LAYOUT, flags);
    NatLab.Agent a2 = nl.agent("node2", "node1", LAYOUT, flags);
    NatLab.Agent a3 = nl.agent("node3", "node1", LAYOUT, flags);
    nl.announce("node1", true);
    List<NatLab.Probe> flows =
        List.of(nl.flow("node2-p1", false), nl.flow("node3-p1", false), nl.flow("node3-p1", true));
    NatLab.sleep(500);
    long start = System.currentTimeMillis();
    a1.signal("KILL");
    NatLab.sleep(NatLab.TTL_MS + 300);
    a2.set("node2", LAYOUT);
    nl.announce("node2", true);
    NatLab.sleep(3000);
    a3.set("node2", LAYOUT);
    return new Moves(flows, start, System.currentTimeMillis());
  }

  private static void broken(String what, Moves m) {
    for (NatLab.Probe p : m.flows) {
      System.out.printf(
          "natFlowAfterMove move=%s flow=%s lastEchoAfterMoveMs=%d closed=%s%n",
          what, p.slot + (p.v6 ? "/v6" : "/v4"), p.lastEchoMillis() - m.doneMillis, p.closed);
    }
  }

  private static void report(String what, Moves m) {
    for (NatLab.Probe p : m.flows) {
      System.out.printf(
          "natFailoverGap move=%s flow=%s gapMs=%d moveMs=%d%n",
          what,
          p.slot + (p.v6 ? "/v6" : "/v4"),
          p.maxGapMillis(m.startMillis - 100),
          m.doneMillis - m.startMillis);
    }
  }
}
