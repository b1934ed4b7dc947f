package dev.vipgress.nat;

import static dev.vipgress.nat.NatLab.VIP4;
import static dev.vipgress.nat.NatLab.VIP6;
import static dev.vipgress.nat.NatLab.VXLAN_DEVICE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vipgress.lab.ExecResult;
import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Steering across L2 segments: the backend pod in {@code far1-p1} lives on the lab's second segment
 * (192.168.101.0/24, behind the router), the VIP's owner on the first. The far node reaches the
 * owner only through the VXLAN tunnel; ext must still see the VIP.
 */
@ExtendWith(LabExtension.class)
class NatVxlanIT {
  private static final NatLab.Layout LAYOUT =
      new NatLab.Layout(List.of("node1-p1", "far1-p1"), true, true);
  private static final NatLab.Layout DIRECT =
      new NatLab.Layout(List.of("node1-p1", "far1-p1"), true, false);
  private static final ObjectMapper JSON = new ObjectMapper();

  private NatLab nl;

  @BeforeEach
  void setUp(Lab lab) {
    Assumptions.assumeTrue(
        lab.status().path("hosts").has("far1"),
        "the lab has no second segment (far1); run `frr-test/lab up` to add it");
    nl = new NatLab(lab);
    nl.awaitQuiet(Duration.ofMinutes(3));
  }

  @AfterEach
  void tearDown() {
    if (nl != null) {
      nl.close();
    }
  }

  @Test
  void farBackendEgressesAsTheVipThroughTheTunnel() {
    nl.agent("node1", "node1", LAYOUT);
    nl.agent("far1", "node1", LAYOUT);
    nl.announce("node1", true);
    long rx0 = rxPackets("node1");

    assertEquals(VIP4, nl.seenBy("far1-p1", false), "far backend egresses as the VIP");
    assertEquals(VIP6, nl.seenBy("far1-p1", true), "far backend egresses as the IPv6 VIP");
    assertEquals(VIP4, nl.seenBy("node1-p1", false), "the owner's own backend too");
    assertEquals(nl.slotIp("far1-p2", false), nl.seenBy("far1-p2", false), "not a backend");
    assertEquals(nl.slotIp("far1-p2", true), nl.seenBy("far1-p2", true), "not a backend");
    assertTrue(rxPackets("node1") > rx0, "the far pod's packets arrived through node1's tunnel");

    // the kernel state the recipe asks for, read back from the far node
    JsonNode dev = json("far1", "ip", "-j", "-d", "link", "show", "dev", VXLAN_DEVICE).get(0);
    JsonNode vx = dev.path("linkinfo").path("info_data");
    assertEquals(NatLab.VXLAN_VNI, vx.path("id").asInt());
    assertEquals(NatLab.VXLAN_PORT, vx.path("port").asInt());
    assertEquals(false, vx.path("learning").asBoolean(true), "nolearning");
    assertEquals(1450, dev.path("mtu").asInt());
    String mac1 = VxlanTunnel.macOf(Addresses.parse(nl.lab.ipv4("node1")));
    String fdb = nl.lab.execOk("far1", "bridge", "fdb", "show", "dev", VXLAN_DEVICE);
    assertTrue(fdb.contains(mac1 + " dst " + nl.lab.ipv4("node1")), fdb);
    String neigh = nl.lab.execOk("far1", "ip", "neigh", "show", "dev", VXLAN_DEVICE);
    assertTrue(neigh.contains(nl.lab.ipv6("node1") + " lladdr " + mac1 + " PERMANENT"), neigh);
    assertEquals(
        mac1,
        json("node1", "ip", "-j", "link", "show", "dev", VXLAN_DEVICE)
            .get(0)
            .path("address")
            .asText());
  }

  @Test
  void withoutTheTunnelTheOwnerIsNotAReachableNextHop() {
    nl.agent("node1", "node1", DIRECT);
    NatLab.Agent far = nl.agent("far1", "node1", DIRECT);
    assertTrue(
        far.refused.stream().anyMatch(r -> r.startsWith("route replace default via")),
        "the kernel refused the owner's route, and the agent says which: " + far.refused);
    nl.announce("node1", true);
    assertNull(
        nl.seenBy("far1-p1", false),
        "unsteered, the far backend is held closed: dropped, never sent with its own address");
    assertEquals(nl.slotIp("far1-p2", false), nl.seenBy("far1-p2", false), "not a backend");
  }

  @Test
  void rpFilterOnTheTunnelIsLooseAndThatIsWhatLetsSteeredPacketsIn() {
    nl.agent("node1", "node1", LAYOUT);
    nl.agent("far1", "node1", LAYOUT);
    nl.announce("node1", true);
    String key = "net.ipv4.conf." + VXLAN_DEVICE + ".rp_filter";
    assertEquals("2", sysctl("node1", key), "rp_filter=2 on the owner's tunnel device");
    try {
      // a distribution's strict default on the node: the tunnel's loose setting wins (max)
      nl.lab.execOk("node1", "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1");
      assertEquals(VIP4, nl.seenBy("far1-p1", false), "loose on the tunnel: accepted");
      // strict on the tunnel: the pod's address is not routed back through it
      nl.lab.execOk("node1", "sysctl", "-q", "-w", key + "=1");
      assertNull(nl.seenBy("far1-p1", false), "strict rp_filter drops the steered packets");
    } finally {
      nl.lab.exec("node1", "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0");
      nl.lab.exec("node1", "sysctl", "-q", "-w", key + "=2");
    }
    assertEquals(VIP4, nl.seenBy("far1-p1", false));
  }

  @Test
  void plannedMoveBetweenOwnersKeepsTheTunnelledFlow() {
    NatLab.Layout layout = new NatLab.Layout(List.of("node1-p1", "far1-p1"), true, true);
    NatLab.Agent a1 = nl.agent("node1", "node1", layout);
    NatLab.Agent a2 = nl.agent("node2", "node1", layout);
    NatLab.Agent af = nl.agent("far1", "node1", layout);
    nl.announce("node1", true);
    List<NatLab.Probe> flows = List.of(nl.flow("far1-p1", false), nl.flow("far1-p1", true));
    for (NatLab.Probe p : flows) {
      assertTrue(p.peer.startsWith(p.v6 ? VIP6 : VIP4), p.slot + " starts as the VIP: " + p.peer);
    }
    NatLab.sleep(500);
    long start = System.currentTimeMillis();
    a2.set("node2", layout);
    nl.announce("node2", true);
    a1.set("node2", layout);
    af.set("node2", layout);
    long done = System.currentTimeMillis();
    for (NatLab.Probe p : flows) {
      assertTrue(
          p.echoesAfter(done, Duration.ofSeconds(30)),
          p.slot + " flow survives the move over the tunnel: " + p.closed);
    }
    String fdb = nl.lab.execOk("far1", "bridge", "fdb", "show", "dev", VXLAN_DEVICE);
    assertTrue(fdb.contains("dst " + nl.lab.ipv4("node2")), fdb);
    assertTrue(!fdb.contains("dst " + nl.lab.ipv4("node1")), "node1's entry is gone: " + fdb);
    assertEquals(VIP4, nl.seenBy("far1-p1", false), "new connections leave as the VIP");
    for (NatLab.Probe p : flows) {
      System.out.printf(
          "natFailoverGap move=planned-vxlan flow=%s gapMs=%d moveMs=%d%n",
          p.slot + (p.v6 ? "/v6" : "/v4"), p.maxGapMillis(start - 100), done - start);
    }
  }

  /**
   * A bulk upload from the far pod with full-size segments, while ICMP "fragmentation needed" /
   * "packet too big" cannot reach the pod (as behind many firewalls): the clamp makes the pod's
   * segments fit the tunnel; without it every full-size segment dies at the tunnel and the transfer
   * stalls. (With ICMP allowed, path MTU discovery would rescue the unclamped case.)
   */
  @Test
  void fullSizeSegmentsNeedTheMssClamp() {
    nl.agent("node1", "node1", LAYOUT);
    NatLab.Agent far = nl.agent("far1", "node1", LAYOUT);
    nl.announce("node1", true);
    blockPmtuSignals("far1-p1");
    Process server = nl.lab.spawn("ext", "iperf3", "-s", "-p", "5299");
    try {
      NatLab.sleep(300);
      double clamped = upload(false);
      double clamped6 = upload(true);
      assertTrue(clamped > 0.05, "clamped upload moves data: " + clamped + " Gbit/s");
      assertTrue(clamped6 > 0.05, "clamped IPv6 upload moves data: " + clamped6 + " Gbit/s");

      far.stop();
      nl.agent("far1", "node1", LAYOUT, "--no-mss-clamp");
      double unclamped = upload(false);
      assertTrue(
          unclamped < clamped / 20,
          "without the clamp the transfer stalls: " + unclamped + " vs " + clamped + " Gbit/s");
      // the honest counterpart: with ICMP reaching the pod, path MTU discovery rescues it
      nl.lab.execOk("far1-p1", "nft", "delete", "table", "inet", "vgnat_it_icmp");
      double pmtud = upload(false);
      assertTrue(pmtud > 0.05, "unclamped with PMTU discovery: " + pmtud + " Gbit/s");
      System.out.printf(
          "natVxlanThroughput clampedGbps=%.3f clamped6Gbps=%.3f unclampedNoIcmpGbps=%.4f"
              + " unclampedPmtudGbps=%.3f%n",
          clamped, clamped6, unclamped, pmtud);
    } finally {
      server.destroy();
      if (nl.lab.exec("far1-p1", "nft", "list", "table", "inet", "vgnat_it_icmp").ok()) {
        nl.lab.exec("far1-p1", "nft", "delete", "table", "inet", "vgnat_it_icmp");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private void blockPmtuSignals(String slot) {
    nl.lab.execOk(
        slot,
        "nft",
        "add table inet vgnat_it_icmp; add chain inet vgnat_it_icmp in { type filter hook input"
            + " priority 0; }; add rule inet vgnat_it_icmp in icmp type destination-unreachable"
            + " icmp code frag-needed drop; add rule inet vgnat_it_icmp in icmpv6 type"
            + " packet-too-big drop");
    nl.lab.exec(slot, "ip", "route", "flush", "cache");
    nl.lab.exec(slot, "ip", "-6", "route", "flush", "cache");
  }

  /** Receiver-side Gbit/s of a 2 s upload from far1-p1 to ext (0 if nothing arrived). */
  private double upload(boolean v6) {
    nl.lab.exec("far1-p1", "ip", v6 ? "-6" : "-4", "route", "flush", "cache");
    ExecResult r =
        nl.lab.exec(
            Duration.ofSeconds(40),
            "far1-p1",
            "timeout",
            "30",
            "iperf3",
            "-J",
            "-c",
            v6 ? NatLab.EXT6 : NatLab.EXT4,
            "-p",
            "5299",
            "-t",
            "2",
            "--connect-timeout",
            "3000");
    try {
      JsonNode j = JSON.readTree(r.stdout());
      return j.path("end").path("sum_received").path("bits_per_second").asDouble(0) / 1e9;
    } catch (IOException e) {
      return 0;
    }
  }

  private long rxPackets(String node) {
    JsonNode l = json(node, "ip", "-j", "-s", "link", "show", "dev", VXLAN_DEVICE).get(0);
    return l.path("stats64").path("rx").path("packets").asLong();
  }

  private String sysctl(String node, String key) {
    return nl.lab.execOk(node, "sysctl", "-n", key).trim();
  }

  private JsonNode json(String host, String... cmd) {
    try {
      return JSON.readTree(nl.lab.execOk(host, cmd));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
