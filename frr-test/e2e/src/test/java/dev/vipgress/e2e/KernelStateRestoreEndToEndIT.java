package dev.vipgress.e2e;

import static dev.vipgress.e2e.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
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
 * Kernel state the running daemon owns is restored when it vanishes under it, with nothing desired
 * changed (issue 10, item 6): on the node whose backend is steered to the VIP's owner, the steering
 * table flushed by hand (what a link going down does to its routes), the steering rule deleted, the
 * whole nft table deleted. Each time the state comes back and the backend's new connections leave
 * as the VIP again — without the daemon's kernel watch nothing re-applies an unchanged desired
 * state, and the backend leaves with its pod IP (or not at all) for good.
 */
@ExtendWith(LabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KernelStateRestoreEndToEndIT {
  static final String NS = "e2e-kernel";
  static final String VIP = "192.168.100.205";
  static final Map<String, String> LABELS =
      Map.of("vipgress.dev/announce", "l2", "vipgress.dev/egress", "true");
  static final Duration CONVERGE = Duration.ofSeconds(20);

  /**
   * Restoration is due within a second; this bound only keeps a broken build from hanging. A daemon
   * without the kernel watch never restores (nothing desired changes), so it fails here.
   */
  static final Duration RESTORE = Duration.ofSeconds(10);

  private static final Pattern LOOKUP = Pattern.compile("lookup (76\\d\\d)\\b");
  static final List<String> SPEAKERS = List.of("node1", "node2");

  static Lab lab;
  static Cluster cluster;
  static final List<Process> servers = new ArrayList<>();

  /** The node whose backend is steered to the owner, and that backend. */
  static String steerer;

  static String remote;

  @BeforeAll
  static void setUp(Lab l) throws Exception {
    lab = l;
    cluster = new Cluster(lab);
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    new CoreV1Api(lab.apiClient())
        .createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS)))
        .execute();
    for (String n : SPEAKERS) {
      // this build's daemon: a speaker left running may run another build's
      lab.cli(Duration.ofSeconds(30), "speaker", "stop", n);
      lab.cli(Duration.ofMinutes(1), "speaker", "start", n).orThrow("speaker start " + n);
    }
    lab.createPod(NS + "/web-1", "node1", "app=web");
    lab.createPod(NS + "/web-2", "node2", "app=web");
    cluster.createService(NS, "web", "web", LABELS, VIP);
    String owner =
        await(
                "an owner for " + VIP,
                CONVERGE,
                KernelStateRestoreEndToEndIT::owner,
                o -> o.isPresent())
            .orElseThrow();
    steerer = owner.equals("node1") ? "node2" : "node1";
    remote = NS + "/" + (steerer.equals("node1") ? "web-1" : "web-2");
    awaitVip(); // before any change
  }

  @AfterAll
  static void tearDown() {
    if (lab == null) {
      return;
    }
    servers.forEach(Process::destroy);
    cluster.deleteService(NS, "web");
    for (String p : List.of("web-1", "web-2")) {
      lab.cli("pod", "delete", NS + "/" + p);
    }
    for (String n : SPEAKERS) {
      lab.cli(Duration.ofSeconds(30), "speaker", "stop", n);
    }
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
  }

  static Optional<String> owner() {
    return cluster.ownerNow(NS, "web");
  }

  static void awaitVip() {
    cluster.awaitSeenAs(remote, VIP, CONVERGE);
  }

  /** The steering table the node's rule sends the backend's packets to. */
  static String steeringTable() {
    String rules = lab.execOk(steerer, "ip", "-4", "rule", "show");
    Matcher m = LOOKUP.matcher(rules);
    if (!m.find()) {
      throw new AssertionError("no steering rule on " + steerer + ":\n" + rules);
    }
    return m.group(1);
  }

  static String routes(String table) {
    return lab.exec(steerer, "ip", "-4", "route", "show", "table", table).stdout();
  }

  @Test
  @Order(1)
  void aFlushedSteeringTableIsRestored() {
    String table = steeringTable();
    String before = routes(table);
    assertTrue(before.contains("default via"), before);
    lab.execOk(steerer, "ip", "-4", "route", "flush", "table", table);
    await(
        "table " + table + " restored on " + steerer, RESTORE, () -> routes(table), before::equals);
    awaitVip(); // after the steering table was flushed
  }

  @Test
  @Order(2)
  void aDeletedSteeringRuleIsRestored() {
    String table = steeringTable();
    String rule =
        lab.execOk(steerer, "ip", "-4", "rule", "show")
            .lines()
            .filter(r -> r.contains("lookup " + table))
            .findFirst()
            .orElseThrow();
    // "30000:	from all fwmark 0x1000000/0xff000000 lookup 7600" -> "ip rule del priority 30000"
    String priority = rule.substring(0, rule.indexOf(':')).strip();
    lab.execOk(steerer, "ip", "-4", "rule", "del", "priority", priority);
    await(
        "the steering rule restored on " + steerer,
        RESTORE,
        () -> lab.execOk(steerer, "ip", "-4", "rule", "show"),
        r -> r.contains("lookup " + table));
    awaitVip(); // after the steering rule was deleted
  }

  @Test
  @Order(3)
  void aDeletedNftTableIsRestored() {
    lab.execOk(steerer, "nft", "delete", "table", "inet", "vipgress");
    await(
        "table inet vipgress restored on " + steerer,
        RESTORE,
        () -> lab.exec(steerer, "nft", "list", "table", "inet", "vipgress").ok(),
        ok -> ok);
    awaitVip(); // after the nft table was deleted
  }
}
