package dev.vipgress.nat;

import static dev.vipgress.nat.Fixtures.NOW;
import static dev.vipgress.nat.Fixtures.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NftBackendTest {
  @TempDir Path sys;
  private final FakeRunner fake = new FakeRunner();
  private final AtomicLong clock = new AtomicLong(NOW);

  private NftBackend backend(NatConfig.Builder b) throws Exception {
    for (String k :
        List.of(
            "net/ipv4/ip_forward",
            "net/ipv6/conf/all/forwarding",
            "net/ipv4/conf/all/send_redirects",
            "net/ipv4/conf/eth0/send_redirects")) {
      Files.createDirectories(sys.resolve(k).getParent());
      Files.writeString(sys.resolve(k), k.endsWith("send_redirects") ? "1\n" : "0\n");
    }
    return new NftBackend(
        b.sysctlRoot(sys).retryBackoff(Duration.ofMillis(1)).build(), fake, clock::get);
  }

  private NftBackend backend() throws Exception {
    return backend(NatConfig.builder("eth0"));
  }

  @Test
  void missingBinaryNamesItAndThePackage() throws Exception {
    fake.missing = "conntrack";
    NftBackend b = backend();
    NatException e = assertThrows(NatException.MissingTool.class, b::start);
    assertTrue(e.getMessage().contains("`conntrack`"), e.getMessage());
    assertTrue(e.getMessage().contains("apt-get install conntrack"), e.getMessage());
  }

  @Test
  void realRunnerReportsAMissingBinary() {
    NatException e =
        assertThrows(
            NatException.MissingTool.class,
            () ->
                new ProcessCommandRunner()
                    .run(List.of("/nonexistent/nft", "-v"), "", Duration.ofSeconds(5)));
    assertTrue(e.getMessage().contains("apt-get install nftables"), e.getMessage());
  }

  @Test
  void startCreatesTheTableAndSetsSysctls() throws Exception {
    NftBackend b = backend();
    b.start();
    String script = fake.nftScripts();
    assertTrue(script.startsWith("add table inet vipgress\n"), script);
    assertFalse(script.contains("delete table"), script);
    assertEquals("1", Files.readString(sys.resolve("net/ipv4/ip_forward")));
    assertEquals("0", Files.readString(sys.resolve("net/ipv4/conf/eth0/send_redirects")));
  }

  @Test
  void startKeepsACurrentTable() throws Exception {
    fake.listing = FakeRunner.resource("listing.json");
    backend().start();
    assertTrue(fake.matching("nft -f -").isEmpty(), "current structure: nothing to write");
  }

  @Test
  void startRebuildsAnOldStructureCarryingElementsOver() throws Exception {
    fake.listing =
        FakeRunner.resource("listing.json")
            .replace("fence; " + NftRenderer.VERSION, "fence; vipgress-nat/0");
    backend().start();
    String script = fake.nftScripts();
    assertTrue(script.startsWith("delete table inet vipgress\nadd table inet vipgress\n"), script);
    assertTrue(
        script.contains("add element inet vipgress snat4 { 10.244.1.2 : 192.168.100.200"), script);
  }

  @Test
  void firstApplyRemovesWhatIsNotDesired() throws Exception {
    // a predecessor left VIPs, SNAT, steering and two owner tables behind
    fake.listing = FakeRunner.resource("listing.json");
    fake.routes4 = FakeRunner.resource("routes4.json");
    fake.rules4 = FakeRunner.resource("rules4.json");
    fake.routes6 = FakeRunner.resource("routes6.json");
    fake.rules6 = FakeRunner.resource("rules6.json");
    NftBackend b = backend();
    b.start();
    fake.calls.clear();
    NodeDesired d =
        DesiredStateText.parse(
                "cluster 10.244.0.0/16\ncluster 192.168.100.11\ncluster fd76:244::/32\n"
                    + "own 192.168.100.200 backends=10.244.1.2\n",
                NOW + 3 * SECOND)
            .desired();
    b.apply(d);
    Golden.check("startup-cleanup.nft", fake.matching("nft -f -").get(0).stdin());
    List<String> ip =
        fake.matching("ip -").stream()
            .filter(c -> c.line().contains("-batch"))
            .map(c -> c.line() + "\n" + c.stdin())
            .toList();
    Golden.check("startup-cleanup.ip", String.join("", ip));
    List<String> ct = fake.matching("conntrack -D").stream().map(FakeRunner.Call::line).toList();
    assertEquals(
        List.of("conntrack -D -f ipv4 -q 192.168.100.210", "conntrack -D -f ipv6 -q fd76:100::200"),
        ct);
  }

  @Test
  void secondApplyDiffsAgainstTheLastTransactionWithoutReadingBack() throws Exception {
    NftBackend b = backend();
    b.start();
    b.apply(Fixtures.owner());
    int reads = fake.matching("nft -j list").size();
    fake.calls.clear();
    b.apply(Fixtures.owner());
    assertEquals(reads, reads); // the first apply read the kernel once
    assertTrue(fake.matching("nft -j list").isEmpty(), "no read-back within resyncInterval");
    String script = fake.nftScripts();
    assertFalse(script.contains("snat4 {"), "nothing but the owned sets changes: " + script);
    assertTrue(script.contains("alive { ipv4 timeout 1950ms }"), "earliest deadline: " + script);
    assertFalse(script.contains("owned4"), script);
    assertTrue(fake.matching("conntrack").isEmpty(), "no ownership change, no clean-up");
    assertTrue(fake.matching("ip -4 -force -batch").isEmpty());
    // after the resync interval the kernel is read again
    clock.addAndGet(Duration.ofSeconds(61).toNanos());
    b.apply(Fixtures.owner());
    assertEquals(1, fake.matching("nft -j list").size());
  }

  @Test
  void failedTransactionIsRetriedThenRebuiltThenReported() throws Exception {
    NftBackend b = backend();
    b.start();
    fake.calls.clear();
    fake.nftResults.add(
        new CommandRunner.Result(1, "", "Error: Could not process rule: Device or resource busy"));
    b.apply(Fixtures.owner());
    assertEquals(3, fake.matching("nft -f -").size(), "failed, then elements and heartbeat");
    assertEquals(2, fake.matching("nft -j list").size(), "re-read after the failure");

    fake.calls.clear();
    b.invalidate();
    for (int i = 0; i < 3; i++) {
      fake.nftResults.add(new CommandRunner.Result(1, "", "Error: boom"));
    }
    NatException e = assertThrows(NatException.class, () -> b.apply(Fixtures.owner()));
    assertTrue(e.getMessage().contains("boom"));
    List<FakeRunner.Call> tx = fake.matching("nft -f -");
    assertEquals(3, tx.size());
    assertTrue(tx.get(2).stdin().startsWith("add table inet vipgress\n"), "last attempt rebuilds");
  }

  @Test
  void aNextHopThatIsTheNodesOwnAddressIsRefusedUpFrontAndTheRestApplied() throws Exception {
    // the lab's wedge: `route replace default via <its own address>` refused the whole batch
    fake.scripted.put(
        "ip -j addr show",
        new CommandRunner.Result(
            0,
            "[{\"ifname\":\"eth0\",\"addr_info\":[{\"family\":\"inet\",\"local\":"
                + "\"192.168.100.12\",\"prefixlen\":24},{\"family\":\"inet6\",\"local\":"
                + "\"fe80::1\",\"scope\":\"link\"}]}]",
            ""));
    NftBackend b = backend();
    b.start();
    ApplyResult r = b.apply(Fixtures.owner());
    assertEquals(1, r.refused().size(), r.toString());
    assertTrue(
        r.refused().get(0).element().equals("steer 10.244.1.9 to node2 via 192.168.100.12"),
        r.toString());
    String script = fake.nftScripts();
    assertTrue(script.contains("snat4 { 10.244.1.2 : 192.168.100.200"), "the rest: " + script);
    assertTrue(script.contains("steer6 { fd76:244:1::9 : 0x00010000 }"), script);
    assertFalse(script.contains("add element inet vipgress steer4 "), script);
    assertTrue(script.contains("backends4 { 10.244.1.9 }"), "the pod is held closed: " + script);
    for (FakeRunner.Call c : fake.matching("ip -4 -force -batch")) {
      assertFalse(c.stdin().contains("via 192.168.100.12"), c.stdin());
    }
  }

  @Test
  void aRouteTheKernelRefusesCostsOnlyItselfAndItsPodsStayHeldClosed() throws Exception {
    fake.scripted.put(
        "ip -4 -force -batch -",
        new CommandRunner.Result(
            1, "", "Error: Nexthop has invalid gateway.\nCommand failed -:1\n"));
    NftBackend b = backend();
    b.start();
    ApplyResult r = b.apply(Fixtures.owner());
    assertEquals(1, r.refused().size(), r.toString());
    assertTrue(r.refused().get(0).reason().contains("Nexthop has invalid gateway"), r.toString());
    assertTrue(r.refused().get(0).element().contains("table 7600"), r.toString());
    String script = fake.nftScripts();
    assertFalse(
        script.contains("add element inet vipgress steer4 "),
        "not steered into a broken table: " + script);
    assertTrue(script.contains("steer6 { fd76:244:1::9"), "IPv6 steering stands: " + script);
    assertTrue(script.contains("backends4 { 10.244.1.9 }"), "held closed: " + script);
    assertTrue(script.contains("snat4 { 10.244.1.2 : 192.168.100.200"), "the rest: " + script);
    // the next apply re-reads the kernel and tries the refused line again
    fake.scripted.remove("ip -4 -force -batch -");
    fake.calls.clear();
    assertTrue(b.apply(Fixtures.owner()).isComplete());
    assertEquals(1, fake.matching("nft -j list").size());
    assertTrue(fake.nftScripts().contains("steer4 { 10.244.1.9 : 0x00010000 }"));
  }

  @Test
  void anElementNftRefusesIsLeftOutAndTheRestCommitted() throws Exception {
    NftBackend b = backend();
    b.start();
    b.apply(NodeDesired.empty());
    fake.calls.clear();
    String line =
        "add element inet vipgress cluster4 { 10.244.0.0/16, 10.96.0.0/16, 192.168.100.11,"
            + " 192.168.100.12 }";
    int col = line.indexOf("10.96.0.0/16") + 1;
    fake.nftResults.add(
        new CommandRunner.Result(
            1,
            "",
            "/dev/stdin:1:"
                + col
                + "-"
                + (col + 11)
                + ": Error: Could not process rule: File exists\n"
                + line
                + "\n"));
    ApplyResult r = b.apply(Fixtures.owner());
    assertEquals(
        List.of(
            new ApplyResult.Refused(
                "add element inet vipgress cluster4 { 10.96.0.0/16 }",
                "nft refused it: Could not process rule: File exists")),
        r.refused());
    List<FakeRunner.Call> tx = fake.matching("nft -f -");
    assertTrue(
        tx.get(1)
            .stdin()
            .startsWith(
                "add element inet vipgress cluster4 { 10.244.0.0/16, 192.168.100.11,"
                    + " 192.168.100.12 }\n"),
        tx.get(1).stdin());
    assertTrue(tx.get(1).stdin().contains("snat4 { 10.244.1.2"), "the rest committed");
  }

  @Test
  void theHeartbeatIsItsOwnTransactionTimedOnceNftRuns() throws Exception {
    // spawning nft (and, for a large transaction, rendering and committing it) takes time: the
    // heartbeat's expiry must count from when nft has it, not from before
    CommandRunner slowSpawn =
        beforeEachStdinSpawn(() -> clock.addAndGet(Duration.ofMillis(300).toNanos()));
    NftBackend b =
        new NftBackend(
            NatConfig.builder("eth0").manageSysctls(false).build(), slowSpawn, clock::get);
    b.start();
    fake.calls.clear();
    b.apply(Fixtures.owner()); // earliest deadline NOW + 2 s, fence margin 50 ms
    List<FakeRunner.Call> tx = fake.matching("nft -f -");
    assertEquals(2, tx.size(), "elements, then the heartbeat");
    assertFalse(tx.get(0).stdin().contains("element inet vipgress alive"), tx.get(0).stdin());
    assertEquals(
        String.join("\n", new NftRenderer(b.config()).heartbeat(1650)) + "\n",
        tx.get(1).stdin(),
        "2000 ms - 300 ms spawning - 50 ms margin");
  }

  @Test
  void aRenewalThatLandsDuringALongApplyKeepsTheVipsLive() throws Exception {
    // the elements' transaction takes 4 s, past every deadline of the snapshot (NOW + 3 s); the
    // elector renews meanwhile: the heartbeat counts from the renewal's deadline, not the
    // snapshot's
    java.util.Map<String, Long> latest = new java.util.concurrent.ConcurrentHashMap<>();
    CommandRunner slowApply =
        beforeEachStdinSpawn(
            () -> {
              if (latest.isEmpty()) {
                clock.addAndGet(4 * SECOND);
                for (String v : List.of("192.168.100.200", "fd76:100::200", "192.168.100.210")) {
                  latest.put(v, clock.get() + 2 * SECOND);
                }
              }
            });
    NftBackend b =
        new NftBackend(
            NatConfig.builder("eth0").manageSysctls(false).build(), slowApply, clock::get);
    b.latestDeadlines(latest);
    b.start();
    fake.calls.clear();
    b.apply(Fixtures.owner());
    List<FakeRunner.Call> tx = fake.matching("nft -f -");
    assertEquals(2, tx.size(), "elements, then the heartbeat");
    assertEquals(
        String.join("\n", new NftRenderer(b.config()).heartbeat(1950)) + "\n",
        tx.get(1).stdin(),
        "the renewal's 2000 ms - 50 ms margin, every VIP still live");
  }

  @Test
  void aLinkThatWentDownAndUpHasItsSteeringRestoredAtTheNextApplyOrRefresh() throws Exception {
    NftBackend b = backend();
    b.start();
    java.util.concurrent.atomic.AtomicInteger changes =
        new java.util.concurrent.atomic.AtomicInteger();
    CommandRunner.Watch w = b.watchKernel(changes::incrementAndGet);
    assertEquals(List.of("ip", "-o", "monitor", "link", "route", "rule"), fake.watchedCommand);
    b.apply(Fixtures.owner());
    fake.calls.clear();
    b.apply(Fixtures.owner());
    assertTrue(fake.matching("ip -4 -force -batch").isEmpty(), "nothing to do");

    // the kernel flushed the IPv4 routes through eth0 without a route event: only the link's
    fake.watcher.accept(
        "2: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default");
    assertEquals(0, changes.get(), "not one of ours");
    fake.watcher.accept(
        "3: eth0@if12: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default");
    assertEquals(1, changes.get());
    fake.calls.clear();
    b.refresh(Fixtures.owner()); // the owner's next renewal, or the apply onChange enqueued
    assertTrue(fake.matching("nft -j list").isEmpty(), "the table is not re-read for a link");
    assertEquals(1, fake.matching("ip -j -4 route show table all").size(), "routes are");
    assertTrue(
        fake.matching("ip -4 -force -batch")
            .get(0)
            .stdin()
            .contains("route replace default via 192.168.100.12 table 7600"),
        "restored from the kernel's view, not from what was last written");
    w.close();
  }

  @Test
  void refreshOnlyRearmsOwnedVips() throws Exception {
    NftBackend b = backend();
    b.start();
    b.apply(Fixtures.owner());
    fake.calls.clear();
    clock.addAndGet(SECOND);
    NodeDesired later = Fixtures.owner();
    b.refresh(later);
    List<FakeRunner.Call> tx = fake.matching("nft -f -");
    assertEquals(1, tx.size());
    assertEquals(1, fake.calls.size(), "no read-back, no ip, no conntrack");
    Golden.check("refresh.nft", tx.get(0).stdin());
  }

  @Test
  void refreshFencesAVipPastItsOwnDeadlineAndKeepsTheOthers() throws Exception {
    NftBackend b = backend();
    b.start();
    b.apply(Fixtures.owner()); // 192.168.100.210 has the earliest deadline (NOW + 2 s)
    fake.calls.clear();
    clock.addAndGet(2 * SECOND);
    b.refresh(Fixtures.owner());
    String script = fake.matching("nft -f -").get(0).stdin();
    assertTrue(
        script.startsWith("delete element inet vipgress owned4 { 192.168.100.210 }\n"), script);
    assertTrue(
        script.contains("alive { ipv4 timeout 950ms }"), "next earliest deadline: " + script);
    assertFalse(script.contains("vips4"), "the VIP stays in vips4, fenced: " + script);
  }

  @Test
  void takeoverAndReleaseCleanConntrack() throws Exception {
    NftBackend b = backend();
    b.start();
    NodeDesired steered =
        DesiredStateText.parse(
                "cluster 10.244.0.0/16\nsteer 10.244.1.2 owner=node2 via=192.168.100.12 vip=192.168.100.200\n",
                NOW + 3 * SECOND)
            .desired();
    b.apply(steered);
    assertEquals(
        List.of("conntrack -D -f ipv4 -s 10.244.1.2"),
        fake.matching("conntrack -D").stream().map(FakeRunner.Call::line).toList(),
        "a pod that just became a backend loses its pre-backend bindings");
    fake.calls.clear();
    NodeDesired owner =
        DesiredStateText.parse(
                "cluster 10.244.0.0/16\nown 192.168.100.200 backends=10.244.1.2,10.244.3.2\n",
                NOW + 3 * SECOND)
            .desired();
    b.apply(owner);
    assertEquals(
        List.of(
            "conntrack -D -f ipv4 -q 192.168.100.200",
            "conntrack -D -f ipv4 -d 192.168.100.200",
            "conntrack -D -f ipv4 -s 10.244.1.2",
            "conntrack -D -f ipv4 -s 10.244.3.2"),
        fake.matching("conntrack -D").stream().map(FakeRunner.Call::line).toList());
    // the routing table of node2 goes after the transaction
    assertTrue(fake.matching("ip -4 -force -batch").get(0).stdin().contains("rule del"));
    fake.calls.clear();
    b.apply(steered);
    assertEquals(
        List.of("conntrack -D -f ipv4 -q 192.168.100.200"),
        fake.matching("conntrack -D").stream().map(FakeRunner.Call::line).toList());
  }

  @Test
  void manyCleanupCandidatesAreCheckedAgainstOneListing() throws Exception {
    NftBackend b = backend();
    b.start();
    fake.calls.clear();
    fake.conntrackListing =
        "tcp      6 431999 ESTABLISHED src=10.244.1.2 dst=192.168.100.100 sport=4000 dport=9000"
            + " src=192.168.100.100 dst=192.168.100.201 sport=9000 dport=4000 [ASSURED] mark=0 use=1\n";
    b.apply(
        DesiredStateText.parse(
                "own 192.168.100.200 backends=10.244.1.1\n"
                    + "own 192.168.100.201 backends=10.244.1.2\n"
                    + "own 192.168.100.202 backends=10.244.1.3\n",
                NOW + 3 * SECOND)
            .desired());
    assertEquals(1, fake.matching("conntrack -L -f ipv4").size());
    assertEquals(
        List.of("conntrack -D -f ipv4 -q 192.168.100.201", "conntrack -D -f ipv4 -s 10.244.1.2"),
        fake.matching("conntrack -D").stream().map(FakeRunner.Call::line).toList());
  }

  @Test
  void conntrackCleanupCanBeSwitchedOff() throws Exception {
    NftBackend b = backend(NatConfig.builder("eth0").conntrackCleanup(false));
    b.start();
    b.apply(Fixtures.owner());
    assertTrue(fake.matching("conntrack -D").isEmpty());
  }

  @Test
  void closeRemovesEverythingUnlessHandingOver() throws Exception {
    NftBackend b = backend();
    b.start();
    b.apply(Fixtures.owner());
    fake.listing = FakeRunner.resource("listing.json");
    fake.rules4 = FakeRunner.resource("rules4.json");
    fake.routes4 = FakeRunner.resource("routes4.json");
    fake.calls.clear();
    b.close(false);
    assertEquals("delete table inet vipgress\n", fake.matching("nft -f -").get(0).stdin());
    assertTrue(
        fake.matching("ip -4 -force -batch")
            .get(0)
            .stdin()
            .contains("rule del pref 7600 fwmark 0x10000/0xff0000 lookup 7600"));
    assertFalse(fake.matching("conntrack -D").isEmpty());
    assertThrows(IllegalStateException.class, () -> b.apply(Fixtures.owner()));

    NftBackend keep = backend();
    keep.start();
    fake.calls.clear();
    keep.close(true);
    assertTrue(fake.calls.isEmpty(), "handing over touches nothing");
  }

  /** {@link #fake}, with {@code before} run as each process fed through a stdin supplier starts. */
  private CommandRunner beforeEachStdinSpawn(Runnable before) {
    return new CommandRunner() {
      @Override
      public Result run(List<String> argv, String stdin, Duration timeout) {
        return fake.run(argv, stdin, timeout);
      }

      @Override
      public Result run(
          List<String> argv, java.util.function.Supplier<String> stdin, Duration timeout) {
        before.run();
        return fake.run(argv, stdin.get(), timeout);
      }

      @Override
      public Watch watch(List<String> argv, java.util.function.Consumer<String> onLine) {
        return fake.watch(argv, onLine);
      }
    };
  }
}
