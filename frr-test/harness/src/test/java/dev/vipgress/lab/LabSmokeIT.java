package dev.vipgress.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.DiscoveryV1Api;
import io.kubernetes.client.openapi.models.V1EndpointSlice;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1LoadBalancerIngress;
import io.kubernetes.client.openapi.models.V1LoadBalancerStatus;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import io.kubernetes.client.openapi.models.V1ServiceSpec;
import io.kubernetes.client.openapi.models.V1ServiceStatus;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The lab is real: a routed pod network, a real apiserver, kube-controller-manager, kube-proxy,
 * FRR.
 */
@ExtendWith(LabExtension.class)
class LabSmokeIT {
  static final String NS = "smoke";
  static Lab lab;

  @BeforeAll
  static void setUp(Lab l) throws ApiException {
    lab = l;
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    new CoreV1Api(lab.apiClient())
        .createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS)))
        .execute();
  }

  @AfterAll
  static void tearDown() {
    if (lab != null) {
      lab.cli("pod", "delete", NS + "/a");
      lab.cli("pod", "delete", NS + "/b");
      lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
    }
  }

  @Test
  void podOnNode2ReachesExtWithItsOwnAddress() {
    String podIp = lab.status().path("slots").path("node2-p2").path("ipv4").asText();
    String out =
        lab.execOk("node2-p2", "curl", "-s", "--max-time", "3", "http://192.168.100.100:8080/");
    assertTrue(out.startsWith("peer=" + podIp + ":"), out);
  }

  @Test
  void leaseCreateReadUpdateAndStaleUpdateConflicts() throws ApiException {
    CoordinationV1Api api = new CoordinationV1Api(lab.apiClient());
    V1Lease created =
        api.createNamespacedLease(
                NS,
                new V1Lease()
                    .metadata(new V1ObjectMeta().name("smoke").namespace(NS))
                    .spec(new V1LeaseSpec().holderIdentity("node1").leaseDurationSeconds(5)))
            .execute();
    V1Lease read = api.readNamespacedLease("smoke", NS).execute();
    assertEquals("node1", read.getSpec().getHolderIdentity());
    read.getSpec().holderIdentity("node2");
    V1Lease updated = api.replaceNamespacedLease("smoke", NS, read).execute();
    assertEquals("node2", updated.getSpec().getHolderIdentity());
    // the first version's resourceVersion is stale now
    created.getSpec().holderIdentity("node3");
    ApiException e =
        assertThrows(
            ApiException.class, () -> api.replaceNamespacedLease("smoke", NS, created).execute());
    assertEquals(409, e.getCode());
  }

  @Test
  void controllerManagerBuildsEndpointSlicesFromPods() throws Exception {
    String a = lab.createPod(NS + "/a", "node1", "app=smoke");
    String b = lab.createPod(NS + "/b", "node3", "app=smoke");
    new CoreV1Api(lab.apiClient())
        .createNamespacedService(
            NS,
            new V1Service()
                .metadata(new V1ObjectMeta().name("eps").namespace(NS))
                .spec(
                    new V1ServiceSpec()
                        .selector(Map.of("app", "smoke"))
                        .ports(
                            List.of(
                                new V1ServicePort().port(80).targetPort(new IntOrString(8080))))))
        .execute();
    DiscoveryV1Api d = new DiscoveryV1Api(lab.apiClient());
    Set<String> ips = new HashSet<>();
    for (int i = 0; i < 100 && !ips.containsAll(Set.of(a, b)); i++) {
      ips.clear();
      for (V1EndpointSlice s :
          d.listNamespacedEndpointSlice(NS)
              .labelSelector("kubernetes.io/service-name=eps")
              .execute()
              .getItems()) {
        if (s.getEndpoints() != null) {
          s.getEndpoints().forEach(ep -> ips.addAll(ep.getAddresses()));
        }
      }
      Thread.sleep(100);
    }
    assertTrue(
        ips.containsAll(Set.of(a, b)), "EndpointSlices list " + ips + ", want " + a + " and " + b);
  }

  @Test
  void kubeProxyProgramsALoadBalancerIp() throws Exception {
    CoreV1Api core = new CoreV1Api(lab.apiClient());
    core.createNamespacedService(
            NS,
            new V1Service()
                .metadata(new V1ObjectMeta().name("lb").namespace(NS))
                .spec(
                    new V1ServiceSpec()
                        .type("LoadBalancer")
                        .selector(Map.of("app", "smoke"))
                        .ports(
                            List.of(
                                new V1ServicePort().port(80).targetPort(new IntOrString(8080))))))
        .execute();
    V1Service s = core.readNamespacedService("lb", NS).execute();
    s.status(
        new V1ServiceStatus()
            .loadBalancer(
                new V1LoadBalancerStatus()
                    .ingress(List.of(new V1LoadBalancerIngress().ip("192.168.100.230")))));
    core.replaceNamespacedServiceStatus("lb", NS, s).execute();
    for (String node : List.of("node1", "node2", "node3")) {
      String rules = "";
      for (int i = 0; i < 100 && !rules.contains("192.168.100.230"); i++) {
        rules = lab.exec(node, "nft", "list", "table", "ip", "kube-proxy").stdout();
        Thread.sleep(100);
      }
      assertTrue(rules.contains("192.168.100.230"), node + "'s kube-proxy table lacks the LB IP");
    }
  }

  @Test
  void frrAnswersBgpSummaryAsJsonAndAcceptsTheNodes() {
    // an object (empty until a node opens a session), parsed from vtysh's JSON
    assertTrue(lab.vtysh("show bgp summary").isObject());
    JsonNode table = lab.vtysh("show bgp ipv4 unicast");
    assertEquals(64512, table.path("localAS").asInt(), table.toString());
    assertEquals("192.168.100.1", table.path("routerId").asText(), table.toString());
    JsonNode group = lab.vtysh("show bgp peer-group").path("nodes");
    assertEquals("external", group.path("type").asText(), group.toString());
    assertEquals(
        "192.168.100.0/24",
        group.path("dynamicRanges").path("IPv4").path("ranges").path(0).asText());
    assertEquals(
        "fd76:100::/64", group.path("dynamicRanges").path("IPv6").path("ranges").path(0).asText());
  }
}
