package dev.vipgress.nat;

import static dev.vipgress.nat.Fixtures.NOW;
import static dev.vipgress.nat.Fixtures.SECOND;
import static dev.vipgress.nat.Fixtures.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Steering to an owner on another L2 segment through the daemon's VXLAN device. No root. */
class VxlanSteeringTest {
  private static final String DEV = "vipgress-vx";

  @TempDir Path sys;
  private final FakeRunner fake = new FakeRunner();
  private final AtomicLong clock = new AtomicLong(NOW);

  private static NatConfig.Builder vx() {
    return NatConfig.builder("eth0").vxlanLocal(ip("192.168.101.11"));
  }

  /** far1 (192.168.101.11) steers its pods to node1 (192.168.100.11) through the tunnel. */
  static NodeDesired farSteersToNode1() {
    return farSteersTo("node1", "192.168.100.11", "fd76:100::11");
  }

  static NodeDesired farSteersTo(String owner, String v4, String v6) {
    return new NodeDesired(
        Set.of(),
        Map.of(
            ip("10.244.101.2"),
            new Steer(owner, ip(v4), ip("192.168.100.240"), Set.of(), ip(v4)),
            ip("fd76:244:101::2"),
            new Steer(owner, ip(v6), ip("fd76:100::240"), Set.of(), ip(v4))),
        Fixtures.cluster());
  }

  private NftBackend backend(NatConfig.Builder b) throws Exception {
    for (String k :
        List.of(
            "net/ipv4/ip_forward",
            "net/ipv6/conf/all/forwarding",
            "net/ipv4/conf/all/send_redirects",
            "net/ipv4/conf/eth0/send_redirects",
            "net/ipv4/conf/" + DEV + "/rp_filter")) {
      Files.createDirectories(sys.resolve(k).getParent());
      Files.writeString(sys.resolve(k), "0\n");
    }
    return new NftBackend(
        b.sysctlRoot(sys).retryBackoff(Duration.ofMillis(1)).build(), fake, clock::get);
  }

  // --- model ------------------------------------------------------------------------------------

  @Test
  void tunnelMacIsDerivedFromTheUnderlayAddress() {
    assertEquals("02:76:c0:a8:64:0b", VxlanTunnel.macOf(ip("192.168.100.11")));
    assertEquals("02:76:0a:00:00:01", VxlanTunnel.macOf(ip("10.0.0.1")));
    assertThrows(IllegalArgumentException.class, () -> VxlanTunnel.macOf(ip("fd76:100::11")));
  }

  @Test
  void configRejectsBadTunnelSettingsByName() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> NatConfig.builder("eth0").vxlanLocal(ip("fd76:100::11")).build());
    assertTrue(e.getMessage().contains("vxlanLocal"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> vx().vxlanDevice("much-too-long-name").build());
    assertTrue(e.getMessage().contains("vxlanDevice"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> vx().vxlanVni(1 << 24).build());
    assertTrue(e.getMessage().contains("vxlanVni"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> vx().vxlanMtu(1000).build());
    assertTrue(e.getMessage().contains("vxlanMtu"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new Steer("node1", ip("fd76:100::11"), ip("fd76:100::240"), Set.of(), ip("fd::1")));
  }

  @Test
  void planRoutesATunnelledOwnerThroughTheDevice() {
    NatConfig c = vx().build();
    NatPlan plan = NatPlan.of(farSteersToNode1(), c, Map.of("node1", 0));
    assertEquals(List.of(), plan.conflicts());
    NatPlan.SlotRoute r = plan.slots().get(0);
    assertEquals(ip("192.168.100.11"), r.tunnel());
    SteeringRoutes routes = new SteeringRoutes(c);
    assertEquals(
        "via 192.168.100.11 dev vipgress-vx onlink",
        routes.desired(plan, Family.V4).routes().get(7600).get("default"));
    assertEquals(
        "via fd76:100::11 dev vipgress-vx onlink",
        routes.desired(plan, Family.V6).routes().get(7600).get("default"));
    assertEquals(Map.of("10.244.101.2", ""), plan.table().get("tunnel4"));
    assertEquals(Map.of("fd76:244:101::2", ""), plan.table().get("tunnel6"));
    VxlanTunnel.View want = new VxlanTunnel(c).desired(plan);
    assertEquals(Map.of("02:76:c0:a8:64:0b", "192.168.100.11"), want.fdb());
    assertEquals(
        Map.of("192.168.100.11", "02:76:c0:a8:64:0b", "fd76:100::11", "02:76:c0:a8:64:0b"),
        want.neighbours());
    // the same pods steered directly: no tunnel anything
    NatPlan direct = NatPlan.of(Fixtures.owner(), c, Map.of("node2", 0));
    assertTrue(direct.table().get("tunnel4").isEmpty());
    assertTrue(new VxlanTunnel(c).desired(direct).fdb().isEmpty());
    assertEquals(
        "via 192.168.100.12", routes.desired(direct, Family.V4).routes().get(7600).get("default"));
  }

  @Test
  void tunnelWithoutAVxlanDeviceIsAConflictNotAnError() {
    NatConfig c = NatConfig.builder("eth0").build();
    NatPlan plan = NatPlan.of(farSteersToNode1(), c, Map.of("node1", 0));
    assertTrue(plan.slots().isEmpty(), "nothing steered");
    assertTrue(plan.table().get("steer4").isEmpty());
    assertEquals(2, plan.conflicts().size(), plan.conflicts().toString());
    assertTrue(plan.conflicts().get(0).contains("vxlanLocal"), plan.conflicts().get(0));
  }

  @Test
  void withoutTheClampNoPodIsMarkedForIt() {
    NatConfig c = vx().mssClamp(false).build();
    NatPlan plan = NatPlan.of(farSteersToNode1(), c, Map.of("node1", 0));
    assertTrue(plan.table().get("tunnel4").isEmpty());
    assertTrue(new NftRenderer(c).structure().stream().noneMatch(l -> l.contains("maxseg")));
  }

  @Test
  void structureClampsBothHandshakeDirectionsAndHoldsTunnelTraffic() {
    List<String> s = new NftRenderer(vx().build()).structure();
    Golden.check("structure-vxlan.nft", s);
    assertTrue(
        s.contains(
            "add rule inet vipgress forward ip daddr @tunnel4 tcp flags & (syn | rst) == syn tcp"
                + " option maxseg size > 1410 tcp option maxseg size set 1410 comment \"MSS clamp:"
                + " SYN-ACK to a pod steered through the tunnel\""),
        String.join("\n", s));
    assertTrue(s.stream().anyMatch(l -> l.contains("ip6 saddr @tunnel6") && l.contains("1390")));
    assertTrue(
        s.stream()
            .anyMatch(l -> l.contains("iifname { \"eth0\", \"vipgress-vx\" } ip saddr @cluster4")));
  }

  @Test
  void tunnelDiffReplacesBeforeAndRemovesAfter() {
    NatConfig c = vx().build();
    VxlanTunnel t = new VxlanTunnel(c);
    VxlanTunnel.View cur = t.desired(NatPlan.of(farSteersToNode1(), c, Map.of("node1", 0)));
    VxlanTunnel.View want =
        t.desired(
            NatPlan.of(
                farSteersTo("node2", "192.168.100.12", "fd76:100::12"), c, Map.of("node2", 1)));
    VxlanTunnel.Diff d = t.diff(cur, want);
    assertEquals(
        List.of("fdb replace 02:76:c0:a8:64:0c dev vipgress-vx dst 192.168.100.12 self permanent"),
        d.fdbBefore());
    assertEquals(
        List.of(
            "neigh replace 192.168.100.12 lladdr 02:76:c0:a8:64:0c dev vipgress-vx nud permanent",
            "neigh replace fd76:100::12 lladdr 02:76:c0:a8:64:0c dev vipgress-vx nud permanent"),
        d.neighBefore());
    assertEquals(
        List.of("fdb del 02:76:c0:a8:64:0b dev vipgress-vx dst 192.168.100.11 self"), d.fdbAfter());
    assertEquals(
        List.of(
            "neigh del 192.168.100.11 dev vipgress-vx", "neigh del fd76:100::11 dev vipgress-vx"),
        d.neighAfter());
    assertTrue(t.diff(want, want).isEmpty());
  }

  // --- parsing real iproute2 6.1 output ----------------------------------------------------------

  @Test
  void parsesTheKernelsViewOfTheTunnel() {
    NatConfig c =
        vx().vxlanDevice("vgvxt")
            .vxlanVni(30311)
            .vxlanPort(4799)
            .vxlanLocal(ip("192.168.101.11"))
            .build();
    VxlanTunnel t = new VxlanTunnel(c);
    VxlanTunnel.Device d = VxlanTunnel.parseDevice(FakeRunner.resource("vxlan/link.json"), "[]");
    assertEquals("vxlan", d.kind());
    assertEquals(30311, d.vni());
    assertEquals(4799, d.port());
    assertEquals("192.168.101.11", d.local());
    assertEquals("eth0", d.link());
    assertFalse(d.learning());
    assertEquals(1450, d.mtu());
    assertTrue(t.matches(d));
    assertEquals(List.of("addr replace 169.254.118.103/32 dev vgvxt scope link"), t.ensure(d));
    VxlanTunnel.Device owner =
        VxlanTunnel.parseDevice(
            FakeRunner.resource("vxlan/link-owner.json"), FakeRunner.resource("vxlan/addr.json"));
    assertEquals(List.of("169.254.118.103"), owner.addresses());
    assertFalse(t.matches(owner), "another node's local address and MAC");
    assertEquals("link del vgvxt", t.ensure(owner).get(0));

    VxlanTunnel.View v =
        VxlanTunnel.parse(
            FakeRunner.resource("vxlan/fdb.json"), FakeRunner.resource("vxlan/neigh.json"));
    assertEquals(Map.of("02:76:c0:a8:64:0b", "192.168.100.11"), v.fdb());
    assertEquals(
        Map.of("192.168.100.11", "02:76:c0:a8:64:0b", "fd76:100::11", "02:76:c0:a8:64:0b"),
        v.neighbours());

    SteeringRoutes.View r =
        new SteeringRoutes(c.toBuilder().routeTableBase(7790).build())
            .parse(
                FakeRunner.resource("vxlan/routes4.json").replace("}]", ",\"table\":\"7799\"}]"),
                "[]");
    assertEquals("via 192.168.100.11 dev vgvxt onlink", r.routes().get(7799).get("default"));
  }

  @Test
  void realListingOfTheVxlanStructureIsCurrentAndCarriesTheTunnelSets() {
    NftListing l = NftListing.parse(FakeRunner.resource("vxlan/listing.json"), "vipgress");
    assertTrue(l.matches(new NftRenderer(vx().build())), "nft 1.0.6 listing of structure-vxlan");
    assertFalse(l.matches(new NftRenderer(vx().mssClamp(false).build())));
    assertFalse(l.matches(new NftRenderer(NatConfig.builder("eth0").build())));
    assertEquals(Map.of("10.244.101.2", ""), l.state().get("tunnel4"));
    assertEquals(Map.of("fd76:244:101::2", ""), l.state().get("tunnel6"));
    assertEquals(Map.of("10.244.101.2", "0x00010000"), l.state().get("steer4"));
  }

  // --- applier ----------------------------------------------------------------------------------

  @Test
  void startCreatesTheDeviceWithLooseRpFilter() throws Exception {
    fake.scripted.put(
        "ip -j -d link show dev " + DEV,
        new CommandRunner.Result(1, "", "Device \"" + DEV + "\" does not exist.\n"));
    backend(vx()).start();
    List<FakeRunner.Call> batch = fake.matching("ip -batch -");
    assertEquals(1, batch.size());
    assertEquals(
        "link add vipgress-vx address 02:76:c0:a8:65:0b mtu 1450 type vxlan id 30311 dstport 4799"
            + " local 192.168.101.11 dev eth0 nolearning\n"
            + "addr replace 169.254.118.103/32 dev vipgress-vx scope link\n"
            + "link set vipgress-vx up\n",
        batch.get(0).stdin());
    assertEquals("2", Files.readString(sys.resolve("net/ipv4/conf/" + DEV + "/rp_filter")));
  }

  @Test
  void missingVxlanModuleIsNamed() throws Exception {
    fake.scripted.put(
        "ip -j -d link show dev " + DEV,
        new CommandRunner.Result(1, "", "Device \"" + DEV + "\" does not exist.\n"));
    fake.scripted.put(
        "ip -batch -",
        new CommandRunner.Result(2, "", "Error: Unknown device type.\nCommand failed -:1\n"));
    NftBackend b = backend(vx());
    NatException e = assertThrows(NatException.TunnelUnavailable.class, b::start);
    assertTrue(e.getMessage().contains("`vxlan` module"), e.getMessage());
    assertTrue(e.getMessage().contains("modprobe vxlan"), e.getMessage());
    assertTrue(e.getMessage().contains(DEV), e.getMessage());
  }

  private void deviceExists() {
    fake.scripted.put(
        "ip -j -d link show dev " + DEV,
        new CommandRunner.Result(
            0, FakeRunner.resource("vxlan/link.json").replace("vgvxt", DEV), ""));
  }

  private List<String> batchLines() {
    return fake.calls.stream()
        .filter(c -> c.line().contains("-batch") || c.line().equals("nft -f -"))
        .flatMap(c -> c.stdin().lines().map(l -> c.argv().get(0) + ": " + l))
        .toList();
  }

  @Test
  void applyInstallsFdbAndNeighboursBeforeTheRoutesAndRemovesThemAfter() throws Exception {
    deviceExists();
    NftBackend b = backend(vx());
    b.start();
    fake.calls.clear();
    b.apply(farSteersToNode1());
    List<String> l = batchLines();
    int fdb =
        l.indexOf(
            "bridge: fdb replace 02:76:c0:a8:64:0b dev vipgress-vx dst 192.168.100.11 self"
                + " permanent");
    int n4 =
        l.indexOf(
            "ip: neigh replace 192.168.100.11 lladdr 02:76:c0:a8:64:0b dev vipgress-vx nud"
                + " permanent");
    int n6 =
        l.indexOf(
            "ip: neigh replace fd76:100::11 lladdr 02:76:c0:a8:64:0b dev vipgress-vx nud"
                + " permanent");
    int r4 =
        l.indexOf("ip: route replace default via 192.168.100.11 dev vipgress-vx onlink table 7600");
    int r6 =
        l.indexOf("ip: route replace default via fd76:100::11 dev vipgress-vx onlink table 7600");
    int nft = l.indexOf("nft: add element inet vipgress tunnel4 { 10.244.101.2 }");
    assertTrue(fdb >= 0 && n4 > fdb && n6 > fdb && r4 > n6 && r6 > n6 && nft > r6, l.toString());
    assertTrue(l.stream().noneMatch(x -> x.contains("link add")), "the device is there already");

    // the same state again: nothing for the tunnel
    fake.calls.clear();
    b.apply(farSteersToNode1());
    assertTrue(fake.matching("bridge").isEmpty());

    // the owner moves to node2: new entries first, node1's after the routes moved
    fake.calls.clear();
    b.apply(farSteersTo("node2", "192.168.100.12", "fd76:100::12"));
    List<String> lines =
        fake.calls.stream()
            .filter(c -> c.line().contains("-batch"))
            .flatMap(c -> c.stdin().lines())
            .toList();
    int addNew =
        lines.indexOf(
            "fdb replace 02:76:c0:a8:64:0c dev vipgress-vx dst 192.168.100.12 self permanent");
    int route =
        lines.indexOf("route replace default via 192.168.100.12 dev vipgress-vx onlink table 7601");
    int delOld = lines.indexOf("fdb del 02:76:c0:a8:64:0b dev vipgress-vx dst 192.168.100.11 self");
    int routeOld =
        lines.indexOf("route del default via 192.168.100.11 dev vipgress-vx onlink table 7600");
    assertTrue(
        addNew >= 0 && route > addNew && routeOld > route && delOld > routeOld, lines.toString());
  }

  @Test
  void closeRemovesTheDeviceAndStartRemovesAStaleOne() throws Exception {
    deviceExists();
    NftBackend b = backend(vx());
    b.start();
    b.apply(farSteersToNode1());
    fake.calls.clear();
    b.close();
    assertEquals(1, fake.matching("ip link del " + DEV).size());

    // VXLAN switched off: a device of ours left behind goes at start-up
    fake.calls.clear();
    NftBackend off = backend(NatConfig.builder("eth0"));
    off.start();
    assertEquals(1, fake.matching("ip link del " + DEV).size());
    assertTrue(fake.matching("ip -batch").isEmpty(), "no device created");
  }

  @Test
  void firstApplyRemovesStaleTunnelEntriesOfAPredecessor() throws Exception {
    deviceExists();
    // a predecessor steered to node3 (192.168.100.13) through the tunnel
    fake.scripted.put(
        "bridge -j fdb show dev " + DEV,
        new CommandRunner.Result(
            0,
            "[{\"mac\":\"02:76:c0:a8:64:0d\",\"dst\":\"192.168.100.13\",\"flags\":[\"self\"],"
                + "\"state\":\"permanent\"},{\"mac\":\"02:76:c0:a8:64:0b\",\"dst\":\"192.168.100.11\","
                + "\"flags\":[\"self\"],\"state\":\"permanent\"}]",
            ""));
    fake.scripted.put(
        "ip -j neigh show dev " + DEV,
        new CommandRunner.Result(
            0,
            "[{\"dst\":\"192.168.100.13\",\"lladdr\":\"02:76:c0:a8:64:0d\",\"state\":[\"PERMANENT\"]},"
                + "{\"dst\":\"192.168.100.11\",\"lladdr\":\"02:76:c0:a8:64:0b\",\"state\":[\"PERMANENT\"]}]",
            ""));
    NftBackend b = backend(vx());
    b.start();
    fake.calls.clear();
    b.apply(farSteersToNode1());
    List<String> l = batchLines();
    assertTrue(
        l.contains("bridge: fdb del 02:76:c0:a8:64:0d dev vipgress-vx dst 192.168.100.13 self"),
        l.toString());
    assertTrue(l.contains("ip: neigh del 192.168.100.13 dev vipgress-vx"), l.toString());
    assertTrue(
        l.stream().noneMatch(x -> x.contains("fdb replace 02:76:c0:a8:64:0b")),
        "node1's entry is already right: " + l);
    assertTrue(
        l.contains(
            "ip: neigh replace fd76:100::11 lladdr 02:76:c0:a8:64:0b dev vipgress-vx nud"
                + " permanent"),
        l.toString());
  }

  @Test
  void handingOverKeepsTheDevice() throws Exception {
    NftBackend b = backend(vx());
    b.start();
    b.apply(farSteersToNode1());
    fake.calls.clear();
    b.close(true);
    assertTrue(fake.matching("ip link del").isEmpty());
  }

  @Test
  void agentTextCarriesTheTunnelEndpoint() {
    NodeDesired d =
        DesiredStateText.parse(
                "steer 10.244.101.2 owner=node1 via=192.168.100.11 vip=192.168.100.240"
                    + " vxlan=192.168.100.11\n",
                NOW + SECOND)
            .desired();
    assertEquals(ip("192.168.100.11"), d.steering().get(ip("10.244.101.2")).tunnelEndpoint());
  }
}
