package dev.vipgress.speaker.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import dev.vipgress.speaker.model.EndpointInfo;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.ServiceKey;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import io.kubernetes.client.openapi.models.V1ServiceSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The watches against the lab's real apiserver: an ordinary, unlabelled Service without pods (its
 * EndpointSlice arrives with {@code endpoints: null}) must not stop the EndpointSlice watch from
 * learning the backends of the opted-in Services (issue 10 item 0).
 */
@ExtendWith(LabExtension.class)
class ClusterWatchIT {
  static final String NS = "cwit";
  static Lab lab;
  static CoreV1Api core;

  @BeforeAll
  static void setUp(Lab l) throws Exception {
    lab = l;
    core = new CoreV1Api(lab.apiClient());
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
  }

  @AfterAll
  static void tearDown() {
    if (lab != null) {
      lab.cli("pod", "delete", NS + "/web-1");
      lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
    }
  }

  static void service(String name, String app, Map<String, String> labels) throws Exception {
    core.createNamespacedService(
            NS,
            new V1Service()
                .metadata(new V1ObjectMeta().namespace(NS).name(name).labels(labels))
                .spec(
                    new V1ServiceSpec()
                        .selector(Map.of("app", app))
                        .ports(
                            List.of(
                                new V1ServicePort()
                                    .port(80)
                                    .targetPort(new IntOrString(8080))
                                    .protocol("TCP")))))
        .execute();
  }

  @Test
  void anUnlabelledServiceWithoutPodsDoesNotBreakTheEndpointSliceWatch() throws Exception {
    service("idle", "nobody", Map.of()); // selects no pod: endpoints null in its slice
    await(
        "the idle Service's EndpointSlice",
        () ->
            lab.kubectl(
                    "get",
                    "endpointslices",
                    "-n",
                    NS,
                    "-l",
                    "kubernetes.io/service-name=idle",
                    "-o",
                    "name")
                .stdout()
                .contains("endpointslice"));
    String podIp = lab.createPod(NS + "/web-1", "node1", "app=web");
    service("web", "web", Map.of(Labels.ANNOUNCE, "l2"));

    List<String> errors = new CopyOnWriteArrayList<>();
    ApiClient client = lab.newApiClient();
    client.setHttpClient(
        client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
    try (ClusterWatch watch = new ClusterWatch(client, errors::add)) {
      watch.start();
      await("the watches synced", watch::synced);
      ServiceKey web = new ServiceKey(NS, "web");
      await(
          "web's backend learned",
          () -> watch.view().endpoints().getOrDefault(web, List.of()).size() == 1);
      assertEquals(new EndpointInfo(podIp, "node1"), watch.view().endpoints().get(web).get(0));
      assertFalse(errors.contains("endpointslices"), errors.toString());
      assertTrue(watch.view().services().containsKey(web));
    }
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(100);
    }
  }
}
