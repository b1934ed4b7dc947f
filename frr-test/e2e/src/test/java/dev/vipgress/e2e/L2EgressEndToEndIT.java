package dev.vipgress.e2e;

import static dev.vipgress.e2e.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole mission in L2 mode, in the lab: speakers on every node, a labelled Service with
 * backends on two nodes, a non-backend pod beside them, a CNI-style masquerade on every node.
 */
@ExtendWith(LabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class L2EgressEndToEndIT {
  static final String NS = "e2e";
  static final String VIP = "192.168.100.200";
  static final Map<String, String> LABELS =
      Map.of("vipgress.dev/announce", "l2", "vipgress.dev/egress", "true");
  static final Duration CONVERGE = Duration.ofSeconds(20);

  static Lab lab;
  static Cluster cluster;
  static final List<Process> servers = new ArrayList<>();

  @BeforeAll
  static void setUp(Lab l) throws Exception {
    lab = l;
    cluster = new Cluster(lab);
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    new CoreV1Api(lab.apiClient())
        .createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS)))
        .execute();
    int nodes = lab.status().path("nodes").asInt();
    for (int i = 1; i <= nodes; i++) {
      cniMasquerade("node" + i, i, true);
      lab.cli(Duration.ofMinutes(1), "speaker", "start", "node" + i).orThrow("speaker start");
    }
    pod("web-1", "node1", "web");
    pod("web-2", "node2", "web");
    pod("other", "node2", "other");
    cluster.createService(NS, "web", "web", LABELS, VIP);
    await("an owner for " + VIP, CONVERGE, () -> owner(), Optional::isPresent);
  }

  @AfterAll
  static void tearDown() {
    if (lab == null) {
      return;
    }
    servers.forEach(Process::destroy);
    cluster.deleteService(NS, "web");
    for (String p : List.of("web-1", "web-2", "web-2b", "web-3", "other")) {
      lab.cli("pod", "delete", NS + "/" + p);
    }
    int nodes = lab.status().path("nodes").asInt();
    for (int i = 1; i <= nodes; i++) {
      lab.cli(Duration.ofSeconds(30), "speaker", "stop", "node" + i);
      cniMasquerade("node" + i, i, false);
    }
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
  }

  /** What a CNI does: pods leave with the node IP unless something binds first. */
  static void cniMasquerade(String node, int i, boolean on) {
    if (on) {
      lab.execOk(
          node,
          "nft",
          "add table ip vgtest_cni; add chain ip vgtest_cni post { type nat hook postrouting priority srcnat; };"
              + " add rule ip vgtest_cni post ip saddr 10.244."
              + i
              + ".0/24 ip daddr != 10.244.0.0/16 masquerade");
    } else {
      lab.exec(node, "nft", "delete", "table", "ip", "vgtest_cni");
    }
  }

  static String pod(String name, String node, String app) {
    String ip = lab.createPod(NS + "/" + name, node, "app=" + app);
    servers.add(
        lab.spawn(
            NS + "/" + name,
            "python3",
            lab.repoRoot().resolve("frr-test/echo-server.py").toString()));
    return ip;
  }

  /** Waits until {@code ext} sees new connections from the pod with this source address. */
  static void awaitSource(String pod, String ip) {
    cluster.awaitSeenAs(pod, ip, CONVERGE);
  }

  static void awaitSource6(String pod, String ip) {
    await(
        pod + " seen as " + ip,
        CONVERGE,
        () -> cluster.seenAs6(pod),
        s -> s.equals(Optional.of(ip)));
  }

  static Optional<String> owner() {
    return cluster.ownerNow(NS, "web");
  }

  static String nodeIp(String node) {
    return lab.ipv4(node);
  }

  static String nodeOf(String pod) {
    var it = lab.status().path("slots").fields();
    while (it.hasNext()) {
      var e = it.next();
      if ((NS + "/" + pod).equals(e.getValue().path("pod").asText(null))) {
        return e.getValue().path("node").asText();
      }
    }
    throw new IllegalStateException("no slot for pod " + pod);
  }

  @Test
  @Order(1)
  void backendsOnTwoNodesLeaveAsTheVipAndTheNonBackendAsItsNode() {
    awaitSource(NS + "/web-1", VIP);
    awaitSource(NS + "/web-2", VIP);
    assertEquals(
        Optional.of(nodeIp("node2")),
        cluster.seenAs(NS + "/other"),
        "non-backend pod keeps the CNI's egress");
    JsonNode st = cluster.speakerStatus(owner().orElseThrow());
    assertEquals(VIP, st.path("vips").path(0).path("vip").asText(), st.toString());
    assertTrue(st.path("vips").path(0).path("ownedHere").asBoolean(), st.toString());
  }

  @Test
  @Order(2)
  void ingressThroughKubeProxyWhileEgressUsesTheVipAtTheSameOwner() {
    String body =
        await(
            "ext reaches VIP:80",
            CONVERGE,
            () ->
                lab.exec("ext", "curl", "-s", "--max-time", "2", "http://" + VIP + ":80/").stdout(),
            s -> s.startsWith("peer="));
    assertTrue(body.startsWith("peer="), body);
    // and egress still leaves as the VIP from both backends, at the same time
    assertEquals(Optional.of(VIP), cluster.seenAs(NS + "/web-1"));
    assertEquals(Optional.of(VIP), cluster.seenAs(NS + "/web-2"));
    assertTrue(
        lab.exec("ext", "curl", "-s", "--max-time", "2", "http://" + VIP + ":80/")
            .stdout()
            .startsWith("peer="));
  }

  @Test
  @Order(2)
  void ipv6VipEgressAndNdp() throws Exception {
    String vip6 = "fd76:100::200";
    cluster.createService(NS, "web6", "web", LABELS, vip6);
    try {
      awaitSource6(NS + "/web-1", vip6);
      awaitSource6(NS + "/web-2", vip6);
      // ext resolved the VIP by NDP (it sent the replies) to the owner's MAC
      String owner6 =
          await(
                  "an owner of the IPv6 VIP",
                  CONVERGE,
                  () -> {
                    try {
                      return cluster.owner(NS, "web6");
                    } catch (Exception e) {
                      return Optional.<String>empty();
                    }
                  },
                  Optional::isPresent)
              .orElseThrow();
      String neigh = lab.exec("ext", "ip", "-6", "neigh", "show", vip6).stdout();
      assertTrue(neigh.contains(lab.mac(owner6)), neigh + " should name " + owner6 + "'s MAC");
    } finally {
      cluster.deleteService(NS, "web6");
    }
  }

  @Test
  @Order(3)
  void badServicesGetEventsAndHarmNothing() throws Exception {
    cluster.createService(NS, "inside", "web", Map.of("vipgress.dev/announce", "l2"), "10.244.3.7");
    cluster.createService(
        NS, "odd", "web", Map.of("vipgress.dev/announce", "arp"), "192.168.100.202");
    cluster.createService(NS, "pending", "web", LABELS, null);
    try {
      for (String[] want :
          List.of(
              new String[] {"inside", "VipInClusterRange"},
              new String[] {"odd", "InvalidAnnounceLabel"},
              new String[] {"pending", "VipPending"})) {
        await(
            "a " + want[1] + " Event on " + want[0],
            CONVERGE,
            () ->
                lab.kubectl(
                        "get",
                        "events",
                        "-n",
                        NS,
                        "--field-selector",
                        "involvedObject.name=" + want[0],
                        "-o",
                        "jsonpath={.items[*].reason}")
                    .stdout(),
            out -> out.contains(want[1]));
      }
      // the good Service is untouched: same owner, egress still as the VIP
      assertEquals(Optional.of(VIP), cluster.seenAs(NS + "/web-1"));
      for (int i = 1; i <= 3; i++) {
        assertTrue(lab.status().path("speakers").path("node" + i).path("running").asBoolean());
      }
    } finally {
      for (String n : List.of("inside", "odd", "pending")) {
        cluster.deleteService(NS, n);
      }
    }
  }

  @Test
  @Order(3)
  void aBadConfigurationChangeKeepsTheLastGoodOneAndSaysSo() throws Exception {
    java.nio.file.Path cfg =
        java.nio.file.Path.of(lab.status().path("stateDir").asText(), "speaker.yaml");
    String good = java.nio.file.Files.readString(cfg);
    String node = owner().orElseThrow();
    try {
      java.nio.file.Files.writeString(cfg, good + "\ntiming: warp-speed\n");
      await(
          "vipgress_config_stale 1 on " + node,
          CONVERGE,
          () -> lab.exec(node, "curl", "-s", "http://127.0.0.1:9470/metrics").stdout(),
          m -> m.contains("vipgress_config_stale 1.0"));
      await(
          "a ConfigRejected Event on " + node,
          CONVERGE,
          () ->
              lab.kubectl(
                      "get",
                      "events",
                      "-n",
                      "default",
                      "--field-selector",
                      "involvedObject.name=" + node + ",reason=ConfigRejected",
                      "-o",
                      "jsonpath={.items[*].message}")
                  .stdout(),
          out -> out.contains("warp-speed"));
      assertEquals(
          Optional.of(VIP), cluster.seenAs(NS + "/web-1"), "still working on the last good one");
    } finally {
      java.nio.file.Files.writeString(cfg, good);
    }
    await(
        "vipgress_config_stale 0 on " + node,
        CONVERGE,
        () -> lab.exec(node, "curl", "-s", "http://127.0.0.1:9470/metrics").stdout(),
        m -> m.contains("vipgress_config_stale 0.0"));
  }

  @Test
  @Order(4)
  void crashOfTheOwnerMovesIngressAndEgressAndKeepsTheFlow() throws Exception {
    moveOwner("kill");
  }

  @Test
  @Order(5)
  void gracefulHandoverMovesIngressAndEgressAndKeepsTheFlow() throws Exception {
    moveOwner("stop");
  }

  private void moveOwner(String how) throws Exception {
    String old = owner().orElseThrow();
    String remote = nodeOf("web-1").equals(old) ? "web-2" : "web-1";
    Process flow =
        lab.spawn(
            NS + "/" + remote,
            "python3",
            lab.repoRoot().resolve("frr-test/tools/flowprobe.py").toString(),
            Cluster.EXT,
            "9000",
            "120");
    try {
      moveOwnerWithFlow(how, old, remote, flow);
    } finally {
      flow.toHandle().destroy();
      lab.cli(Duration.ofMinutes(1), "speaker", "start", old).orThrow("speaker start " + old);
    }
  }

  private void moveOwnerWithFlow(String how, String old, String remote, Process flow)
      throws Exception {
    Thread.sleep(1500);
    lab.cli(Duration.ofSeconds(30), "speaker", how, old).orThrow("speaker " + how + " " + old);
    String now =
        await(
                "a new owner",
                CONVERGE,
                L2EgressEndToEndIT::owner,
                o -> o.isPresent() && !o.get().equals(old))
            .orElseThrow();
    assertNotEquals(old, now);
    awaitSource(NS + "/" + remote, VIP);
    await(
        "ingress works again",
        CONVERGE,
        () -> lab.exec("ext", "curl", "-s", "--max-time", "2", "http://" + VIP + ":80/").stdout(),
        s -> s.startsWith("peer="));
    Thread.sleep(1500);
    // SIGTERM through the handle: Process.destroy() would close the stream we read below
    flow.toHandle().destroy();
    assertTrue(flow.waitFor(10, TimeUnit.SECONDS));
    String out = new String(flow.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    JsonNode r = new ObjectMapper().readTree(out.substring(out.lastIndexOf('\n') + 1));
    assertNull(r.path("error").textValue(), "the long-lived flow broke: " + r);
    assertEquals(VIP, r.path("peer").asText().replaceAll(":\\d+$", ""), r.toString());
    assertTrue(
        r.path("echoed").asInt() > r.path("sent").asInt() - 5,
        "the flow kept flowing after the move: " + r);
    System.out.printf(
        "owner move by %s: %s -> %s, flow max gap %s ms%n",
        how, old, now, r.path("max_gap_ms").asText());
  }

  @Test
  @Order(6)
  void ownersLinkGoingDownMovesTheVip() {
    String old = owner().orElseThrow();
    // carrier loss on the owner's uplink (its bridge port in the LAN goes down; routes stay)
    lab.execOk("lan", "ip", "link", "set", old, "down");
    try {
      String now =
          await(
                  "a new owner after " + old + " lost its link",
                  CONVERGE,
                  L2EgressEndToEndIT::owner,
                  o -> o.isPresent() && !o.get().equals(old))
              .orElseThrow();
      String remote = nodeOf("web-1").equals(now) ? "web-2" : "web-1";
      if (!nodeOf(remote).equals(old)) {
        await(
            remote + " leaves as the VIP through " + now,
            CONVERGE,
            () -> cluster.seenAs(NS + "/" + remote),
            ip -> ip.equals(Optional.of(VIP)));
      }
    } finally {
      lab.execOk("lan", "ip", "link", "set", old, "up");
    }
    // back on the LAN, the old owner must not answer for the VIP: exactly one MAC answers ARP
    await(
        "a single owner answering ARP again",
        CONVERGE,
        () ->
            Cluster.arpAnswerers(
                lab.exec("ext", "arping", "-c", "3", "-w", "3", "-I", "eth0", VIP).stdout()),
        macs -> macs.size() == 1);
  }

  @Test
  @Order(7)
  void followsAnIpamChangeAndASecondServiceSharingTheVip() throws Exception {
    String other = "192.168.100.203";
    cluster.setVip(NS, "web", other);
    try {
      awaitSource(NS + "/web-1", other);
      awaitSource(NS + "/web-2", other);
      for (int i = 1; i <= 3; i++) {
        String node = "node" + i;
        await(
            "no state for the old VIP on " + node,
            CONVERGE,
            () -> cluster.kernelState(node),
            st -> !st.contains(VIP));
      }
    } finally {
      cluster.setVip(NS, "web", VIP);
    }
    awaitSource(NS + "/web-1", VIP);
    // a second Service (announce only) on the same VIP: one owner, egress unchanged
    cluster.createService(NS, "web-b", "web", Map.of("vipgress.dev/announce", "l2"), VIP);
    try {
      String owner = owner().orElseThrow();
      await(
          "web-b annotated with the same owner",
          CONVERGE,
          () -> {
            try {
              return cluster.owner(NS, "web-b");
            } catch (Exception e) {
              return Optional.<String>empty();
            }
          },
          o -> o.equals(Optional.of(owner)));
      assertEquals(
          1,
          Cluster.arpAnswerers(
                  lab.exec("ext", "arping", "-c", "2", "-w", "2", "-I", "eth0", VIP).stdout())
              .size());
      assertEquals(Optional.of(VIP), cluster.seenAs(NS + "/web-2"));
    } finally {
      cluster.deleteService(NS, "web-b");
    }
    awaitSource(NS + "/web-2", VIP);
  }

  @Test
  @Order(8)
  void convergesOnBackendChangesLabelRemovalAndDeletionWithoutStaleKernelState() throws Exception {
    // scale up on a third node
    pod("web-3", "node3", "web");
    awaitSource(NS + "/web-3", VIP);
    // replace a pod: a new IP
    lab.deletePod(NS + "/web-2");
    pod("web-2b", "node2", "web");
    awaitSource(NS + "/web-2b", VIP);
    // scale down
    lab.deletePod(NS + "/web-3");
    // remove the egress label: backends leave as their node again
    cluster.patchLabels(NS, "web", "{\"vipgress.dev/egress\":null}");
    await(
        "web-1 back to its node IP",
        CONVERGE,
        () -> cluster.seenAs(NS + "/web-1"),
        ip -> ip.equals(Optional.of(nodeIp(nodeOf("web-1")))));
    awaitSource(NS + "/web-2b", nodeIp("node2"));
    // delete the Service: nothing of it stays in any kernel
    cluster.deleteService(NS, "web");
    int nodes = lab.status().path("nodes").asInt();
    for (int i = 1; i <= nodes; i++) {
      String node = "node" + i;
      await(
          "no state for " + VIP + " on " + node,
          CONVERGE,
          () -> cluster.kernelState(node),
          s -> !s.contains(VIP));
      String state = cluster.kernelState(node);
      for (String podIp : List.of("10.244.1.2", "10.244.2.2", "10.244.2.3", "10.244.3.2")) {
        assertFalse(
            state.contains(podIp + " :") || state.contains(podIp + " . "),
            node + " still maps " + podIp + ":\n" + state);
      }
    }
    await(
        "nobody answering ARP for the VIP",
        CONVERGE,
        () ->
            Cluster.arpAnswerers(
                lab.exec("ext", "arping", "-c", "2", "-w", "2", "-I", "eth0", VIP).stdout()),
        java.util.Set::isEmpty);
  }

  static String read(Process p) throws IOException {
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }
}
