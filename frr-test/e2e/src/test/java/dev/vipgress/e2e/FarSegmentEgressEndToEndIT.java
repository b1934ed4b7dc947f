package dev.vipgress.e2e;

import static dev.vipgress.e2e.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A backend pod on the lab's second L2 segment ({@code far1}, behind the router): the speakers
 * steer it through the VXLAN tunnel to the owner on segment 1, so {@code ext} sees the VIP; {@code
 * far1}'s own speaker never competes for the segment-1 VIP; a planned move of the VIP keeps it so.
 */
@ExtendWith(LabExtension.class)
class FarSegmentEgressEndToEndIT {
  static final String NS = "e2e-far";
  static final String VIP = "192.168.100.204";
  static final Map<String, String> LABELS =
      Map.of("vipgress.dev/announce", "l2", "vipgress.dev/egress", "true");
  static final Duration CONVERGE = Duration.ofSeconds(30);
  static final List<String> SPEAKERS = List.of("node1", "node2", "far1");

  @Test
  void farBackendEgressesAsTheVipThroughTheTunnelAcrossAMove(Lab lab) throws Exception {
    Assumptions.assumeTrue(
        lab.status().path("hosts").has("far1"),
        "the lab has no second segment (far1); run `frr-test/lab up` to add it");
    Cluster cluster = new Cluster(lab);
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    new CoreV1Api(lab.apiClient())
        .createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS)))
        .execute();
    try {
      for (String n : SPEAKERS) {
        lab.cli(Duration.ofMinutes(1), "speaker", "start", n).orThrow("speaker start " + n);
      }
      lab.createPod(NS + "/web-1", "node1", "app=web");
      String farIp = lab.createPod(NS + "/web-far", "far1", "app=web");
      String otherIp = lab.createPod(NS + "/other-far", "far1", "app=other");
      cluster.createService(NS, "web", "web", LABELS, VIP);
      String owner =
          await("an owner for " + VIP, CONVERGE, () -> owner(cluster), o -> o.isPresent())
              .orElseThrow();
      assertTrue(Set.of("node1", "node2").contains(owner), "owner on the VIP's segment: " + owner);

      await(
          "the far backend seen as the VIP",
          CONVERGE,
          () -> cluster.seenAs(NS + "/web-far"),
          s -> s.equals(Optional.of(VIP)));
      assertEquals(Optional.of(otherIp), cluster.seenAs(NS + "/other-far"), "not a backend");
      assertTrue(
          lab.execOk("far1", "ip", "-d", "link", "show", "dev", "vipgress-vx").contains("vxlan id"),
          "far1's speaker steers through its VXLAN device");

      // planned move: the owner's speaker stops; the other segment-1 node takes over
      lab.cli(Duration.ofSeconds(30), "speaker", "stop", owner).orThrow("speaker stop " + owner);
      String other = owner.equals("node1") ? "node2" : "node1";
      await(
          "the VIP moves to " + other,
          CONVERGE,
          () -> owner(cluster),
          o -> o.equals(Optional.of(other)));
      await(
          "the far backend seen as the VIP after the move",
          CONVERGE,
          () -> cluster.seenAs(NS + "/web-far"),
          s -> s.equals(Optional.of(VIP)));
      assertTrue(!owner(cluster).equals(Optional.of("far1")), "far1 never owns the VIP");
      assertTrue(!farIp.isEmpty());
    } finally {
      cluster.deleteService(NS, "web");
      for (String p : List.of("web-1", "web-far", "other-far")) {
        lab.cli("pod", "delete", NS + "/" + p);
      }
      for (String n : SPEAKERS) {
        lab.cli(Duration.ofSeconds(30), "speaker", "stop", n);
      }
      lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
    }
  }

  static Optional<String> owner(Cluster cluster) {
    try {
      return cluster.owner(NS, "web");
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
