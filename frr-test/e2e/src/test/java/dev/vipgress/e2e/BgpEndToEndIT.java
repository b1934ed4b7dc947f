package dev.vipgress.e2e;

import static dev.vipgress.e2e.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vipgress.lab.ExecResult;
import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * BGP mode through the daemon, against the lab's FRR: speakers on every node peer with the router
 * over IPv4 (IPv4 unicast) and IPv6 (IPv6 unicast) with a 4-byte local AS; a Service labelled
 * {@code announce: bgp} has its VIP in the router's RIB from the owner only, the route follows the
 * owner when its speaker is killed, and the backends leave as the VIP towards {@code ext2}, behind
 * the router.
 */
@ExtendWith(LabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BgpEndToEndIT {
  static final String NS = "e2e-bgp";
  static final String VIP = "198.51.100.10";
  static final String VIP6 = "2001:db8:100::10";
  static final String EXT2 = "http://192.168.200.100:8080/";
  static final String EXT2_6 = "http://[fd76:200::100]:8080/";
  static final Map<String, String> LABELS =
      Map.of("vipgress.dev/announce", "bgp", "vipgress.dev/egress", "true");
  static final Duration CONVERGE = Duration.ofSeconds(30);
  static final Pattern PEER = Pattern.compile("peer=\\[?([0-9a-fA-F:.]+)\\]?:(\\d+)");

  static Lab lab;
  static Cluster cluster;
  static Path stateDir;
  static int nodes;
  static final List<Process> servers = new ArrayList<>();

  static String speakerConfig() {
    return """
        namespace: vipgress-system
        interfaces: [eth0]
        clusterRanges: [10.244.0.0/16, 10.96.0.0/16, fd76:244::/32, fd76:96::/112]
        timing: default
        httpPort: 9470
        bgp:
          localASN: 4200000001
          peers:
            - {address: 192.168.100.1, peerASN: 64512, holdTime: 9s, keepalive: 3s, families: [ipv4]}
            - {address: "fd76:100::1", peerASN: 64512, holdTime: 9s, keepalive: 3s, families: [ipv6]}
        """;
  }

  @BeforeAll
  static void setUp(Lab l) throws Exception {
    lab = l;
    cluster = new Cluster(lab);
    nodes = lab.status().path("nodes").asInt();
    stateDir = Path.of(lab.status().path("stateDir").asText());
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    new CoreV1Api(lab.apiClient())
        .createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS)))
        .execute();
    for (int i = 1; i <= nodes; i++) {
      lab.cli(Duration.ofSeconds(30), "speaker", "stop", "node" + i);
      startSpeaker("node" + i);
    }
    pod("web-1", "node1");
    pod("web-2", "node2");
    cluster.createService(NS, "web", "web", LABELS, VIP);
    cluster.createService(NS, "web6", "web", LABELS, VIP6);
  }

  /** One configuration file per node, so that a test can change one node's peers. */
  static Path config(String node) {
    return stateDir.resolve("speaker-bgp-" + node + ".yaml");
  }

  static void startSpeaker(String node) throws java.io.IOException {
    Files.writeString(config(node), speakerConfig());
    ExecResult r =
        lab.cli(
            Duration.ofMinutes(2), "speaker", "start", node, "--config", config(node).toString());
    if (!r.ok()) {
      // the lab waits 60 s for /readyz; a loaded machine may need longer
      await(
          node + "'s speaker ready (" + r.stderr().strip() + ")",
          Duration.ofMinutes(3),
          () ->
              lab.exec(node, "curl", "-sf", "--max-time", "2", "http://127.0.0.1:9470/readyz").ok(),
          ok -> ok);
    }
  }

  @AfterAll
  static void tearDown() {
    if (lab == null) {
      return;
    }
    servers.forEach(Process::destroy);
    cluster.deleteService(NS, "web");
    cluster.deleteService(NS, "web6");
    for (String p : List.of("web-1", "web-2")) {
      lab.cli("pod", "delete", NS + "/" + p);
    }
    for (int i = 1; i <= nodes; i++) {
      lab.cli(Duration.ofSeconds(30), "speaker", "stop", "node" + i);
    }
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
  }

  static void pod(String name, String node) {
    lab.createPod(NS + "/" + name, node, "app=web");
    servers.add(
        lab.spawn(
            NS + "/" + name,
            "python3",
            lab.repoRoot().resolve("frr-test/echo-server.py").toString()));
  }

  static Optional<String> owner(String svc) {
    try {
      return cluster.owner(NS, svc);
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  /**
   * The next hops of every path the router has for {@code prefix} (global addresses only: FRR adds
   * the link-local next hop of an IPv6 path as a second entry).
   */
  static List<String> routerPaths(String afi, String prefix) {
    JsonNode r;
    try {
      r = lab.vtysh("show bgp " + afi + " unicast " + prefix);
    } catch (RuntimeException e) {
      return List.of("(" + e.getMessage() + ")"); // not in the table: FRR may print no JSON
    }
    List<String> hops = new ArrayList<>();
    for (JsonNode path : r.path("paths")) {
      for (JsonNode nh : path.path("nexthops")) {
        if (!"link-local".equals(nh.path("scope").asText())) {
          hops.add(nh.path("ip").asText());
        }
      }
    }
    return hops;
  }

  /** The source address ext2 (behind the router) saw for an HTTP GET from the pod. */
  static Optional<String> seenByExt2(String pod, String url) {
    ExecResult r =
        lab.exec(Duration.ofSeconds(10), NS + "/" + pod, "curl", "-s", "--max-time", "2", url);
    Matcher m = PEER.matcher(r.stdout());
    return r.ok() && m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  static String awaitRouteFromOwnerOnly(String svc, String afi, String prefix, String family) {
    record Seen(Optional<String> owner, List<String> hops) {}
    Seen seen =
        await(
            "the router's only path to " + prefix + " via the owner of " + svc,
            CONVERGE,
            () -> new Seen(owner(svc), routerPaths(afi, prefix)),
            s ->
                s.owner().isPresent()
                    && s.hops()
                        .equals(
                            List.of(
                                family.equals("ipv4")
                                    ? lab.ipv4(s.owner().get())
                                    : lab.ipv6(s.owner().get()))));
    return seen.owner().get();
  }

  @Test
  @Order(1)
  void theRouterHasTheVipFromTheOwnerOnly() {
    String o4 = awaitRouteFromOwnerOnly("web", "ipv4", VIP + "/32", "ipv4");
    String o6 = awaitRouteFromOwnerOnly("web6", "ipv6", VIP6 + "/128", "ipv6");
    // every node has its sessions up, only the owners advertise
    JsonNode summary = lab.vtysh("show bgp summary");
    for (int i = 1; i <= nodes; i++) {
      String n = "node" + i;
      assertEquals(
          "Established",
          summary.path("ipv4Unicast").path("peers").path(lab.ipv4(n)).path("state").asText(),
          n + ": " + summary);
      assertEquals(
          "Established",
          summary.path("ipv6Unicast").path("peers").path(lab.ipv6(n)).path("state").asText(),
          n + ": " + summary);
      JsonNode st = cluster.speakerStatus(n);
      assertEquals(2, st.path("bgpPeers").size(), st.toString());
    }
    System.out.printf("BGP owners: %s (IPv4), %s (IPv6)%n", o4, o6);
  }

  @Test
  @Order(2)
  void backendsOnTwoNodesLeaveAsTheVipTowardsExt2AndExt2ReachesTheVip() {
    for (String pod : List.of("web-1", "web-2")) {
      await(
          pod + " seen by ext2 as " + VIP,
          CONVERGE,
          () -> seenByExt2(pod, EXT2),
          s -> s.equals(Optional.of(VIP)));
      await(
          pod + " seen by ext2 as " + VIP6,
          CONVERGE,
          () -> seenByExt2(pod, EXT2_6),
          s -> s.equals(Optional.of(VIP6)));
    }
    String body =
        await(
            "ext2 reaches VIP:80",
            CONVERGE,
            () ->
                lab.exec("ext2", "curl", "-s", "--max-time", "2", "http://" + VIP + ":80/")
                    .stdout(),
            s -> s.startsWith("peer="));
    assertTrue(body.startsWith("peer="), body);
  }

  @Test
  @Order(3)
  void killingTheOwnerMovesTheRouteAndTheEgress() throws Exception {
    String old = owner("web").orElseThrow();
    String old6 = owner("web6").orElseThrow();
    lab.cli(Duration.ofSeconds(30), "speaker", "kill", old).orThrow("speaker kill " + old);
    try {
      String now =
          await(
                  "a new owner of " + VIP,
                  CONVERGE,
                  () -> owner("web"),
                  o -> o.isPresent() && !o.get().equals(old))
              .orElseThrow();
      assertNotEquals(old, now);
      awaitRouteFromOwnerOnly("web", "ipv4", VIP + "/32", "ipv4");
      if (old6.equals(old)) {
        await(
            "a new owner of " + VIP6,
            CONVERGE,
            () -> owner("web6"),
            o -> o.isPresent() && !o.get().equals(old));
      }
      awaitRouteFromOwnerOnly("web6", "ipv6", VIP6 + "/128", "ipv6");
      String remote = now.equals("node1") ? "web-2" : "web-1";
      if (!(remote.equals("web-1") ? "node1" : "node2").equals(old)) {
        await(
            remote + " seen by ext2 as " + VIP + " through " + now,
            CONVERGE,
            () -> seenByExt2(remote, EXT2),
            s -> s.equals(Optional.of(VIP)));
      }
    } finally {
      startSpeaker(old);
    }
    // back: the VIP stays where it is (no reason to move), still one path
    awaitRouteFromOwnerOnly("web", "ipv4", VIP + "/32", "ipv4");
  }

  @Test
  @Order(4)
  void aPeerConfigurationChangeAppliesWithoutARestart() throws Exception {
    String node = owner("web").orElseThrow();
    long pid = lab.status().path("speakers").path(node).path("pid").asLong();
    // this node drops its IPv6 peer: its IPv6 VIPs go to another node, IPv4 stays untouched
    Files.writeString(
        config(node),
        speakerConfig()
            .replace(
                "    - {address: \"fd76:100::1\", peerASN: 64512, holdTime: 9s, keepalive: 3s,"
                    + " families: [ipv6]}\n",
                ""));
    try {
      await(
          node + " lists one peer",
          CONVERGE,
          () -> cluster.speakerStatus(node).path("bgpPeers").size(),
          n -> n == 1);
      assertEquals(
          pid, lab.status().path("speakers").path(node).path("pid").asLong(), "not restarted");
      await(
          "the router's IPv4 path still via " + node,
          CONVERGE,
          () -> routerPaths("ipv4", VIP + "/32"),
          hops -> hops.equals(List.of(lab.ipv4(node))));
      String o6 = awaitRouteFromOwnerOnly("web6", "ipv6", VIP6 + "/128", "ipv6");
      assertNotEquals(node, o6, "a node without an IPv6 session cannot own an IPv6 BGP VIP");
    } finally {
      Files.writeString(config(node), speakerConfig());
    }
    await(
        node + " lists two peers again",
        CONVERGE,
        () -> cluster.speakerStatus(node).path("bgpPeers").size(),
        n -> n == 2);
  }
}
