package dev.vipgress.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vipgress.lab.ExecResult;
import dev.vipgress.lab.Lab;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1LoadBalancerIngress;
import io.kubernetes.client.openapi.models.V1LoadBalancerStatus;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import io.kubernetes.client.openapi.models.V1ServiceSpec;
import io.kubernetes.client.openapi.models.V1ServiceStatus;
import io.kubernetes.client.util.PatchUtils;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the end-to-end suites do to the lab cluster, in the vocabulary of the tests. */
final class Cluster {
  static final String EXT = "192.168.100.100";
  static final String ECHO_HTTP = "http://" + EXT + ":8080/";
  private static final Pattern PEER = Pattern.compile("peer=\\[?([0-9a-fA-F:.]+)\\]?:(\\d+)");
  private final Lab lab;
  private final CoreV1Api core;

  Cluster(Lab lab) {
    this.lab = lab;
    this.core = new CoreV1Api(lab.apiClient());
  }

  /**
   * A LoadBalancer Service selecting {@code app=<app>}, labelled for vipgress, with its VIP set as
   * an IPAM would.
   */
  void createService(String ns, String name, String app, Map<String, String> labels, String vip)
      throws ApiException {
    createService(ns, name, app, labels, vip, vip != null && vip.contains(":") ? "IPv6" : "IPv4");
  }

  void createService(
      String ns, String name, String app, Map<String, String> labels, String vip, String family)
      throws ApiException {
    V1Service s =
        new V1Service()
            .metadata(new V1ObjectMeta().namespace(ns).name(name).labels(labels))
            .spec(
                new V1ServiceSpec()
                    .type("LoadBalancer")
                    .ipFamilies(List.of(family))
                    .ipFamilyPolicy("SingleStack")
                    .selector(Map.of("app", app))
                    .ports(
                        List.of(
                            new V1ServicePort()
                                .name("http")
                                .port(80)
                                .targetPort(new IntOrString(8080))
                                .protocol("TCP"))));
    core.createNamespacedService(ns, s).execute();
    if (vip != null) {
      setVip(ns, name, vip);
    }
  }

  void setVip(String ns, String name, String vip) throws ApiException {
    V1Service cur = core.readNamespacedService(name, ns).execute();
    cur.status(
        new V1ServiceStatus()
            .loadBalancer(
                new V1LoadBalancerStatus().ingress(List.of(new V1LoadBalancerIngress().ip(vip)))));
    core.replaceNamespacedServiceStatus(name, ns, cur).execute();
  }

  void patchLabels(String ns, String name, String mergePatchLabels) throws ApiException {
    PatchUtils.patch(
        V1Service.class,
        () ->
            core.patchNamespacedService(
                    name, ns, new V1Patch("{\"metadata\":{\"labels\":" + mergePatchLabels + "}}"))
                .buildCall(null),
        V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
        lab.apiClient());
  }

  void deleteService(String ns, String name) {
    try {
      core.deleteNamespacedService(name, ns).execute();
    } catch (ApiException e) {
      if (e.getCode() != 404) {
        throw new IllegalStateException(e);
      }
    }
  }

  Optional<String> owner(String ns, String name) throws ApiException {
    V1Service s = core.readNamespacedService(name, ns).execute();
    var a = s.getMetadata().getAnnotations();
    return Optional.ofNullable(a == null ? null : a.get("vipgress.dev/owner"));
  }

  /** The owner annotation, or empty also while the Service cannot be read. */
  Optional<String> ownerNow(String ns, String name) {
    try {
      return owner(ns, name);
    } catch (ApiException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Waits until {@code ext} sees new connections from the pod with this source address. */
  void awaitSeenAs(String pod, String ip, Duration timeout) {
    await(pod + " seen as " + ip, timeout, () -> seenAs(pod), s -> s.equals(Optional.of(ip)));
  }

  /** The source address {@code ext} saw for an HTTP GET from the pod, or empty if it failed. */
  Optional<String> seenAs(String pod) {
    return seenAs(pod, ECHO_HTTP);
  }

  /** The same over IPv6. */
  Optional<String> seenAs6(String pod) {
    return seenAs(pod, "http://[fd76:100::100]:8080/");
  }

  private Optional<String> seenAs(String pod, String url) {
    ExecResult r = lab.exec(Duration.ofSeconds(10), pod, "curl", "-s", "--max-time", "2", url);
    Matcher m = PEER.matcher(r.stdout());
    return r.ok() && m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** Polls until the condition holds; fails with the last value after the timeout. */
  static <T> T await(
      String what, Duration timeout, Supplier<T> probe, java.util.function.Predicate<T> ok) {
    long end = System.nanoTime() + timeout.toNanos();
    T last = null;
    while (System.nanoTime() < end) {
      last = probe.get();
      if (ok.test(last)) {
        return last;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    fail("timed out after " + timeout + " waiting for " + what + "; last: " + last);
    return last;
  }

  private static final Pattern ARP_REPLY = Pattern.compile("bytes from ([0-9a-fA-F:]{17}) ");

  /** The distinct MACs in the replies {@code arping} (Debian's arping) printed. */
  static java.util.Set<String> arpAnswerers(String arpingOutput) {
    java.util.Set<String> macs = new java.util.TreeSet<>();
    Matcher m = ARP_REPLY.matcher(arpingOutput);
    while (m.find()) {
      macs.add(m.group(1).toLowerCase(java.util.Locale.ROOT));
    }
    return macs;
  }

  /**
   * The nft ruleset, ip rules, and neighbour proxy entries of a node: everything vipgress could
   * leave behind.
   */
  String kernelState(String node) {
    return lab.exec(node, "nft", "list", "ruleset").stdout()
        + lab.exec(node, "ip", "rule").stdout()
        + lab.exec(node, "ip", "-6", "rule").stdout()
        + lab.exec(node, "ip", "neigh", "show", "proxy").stdout();
  }

  JsonNode speakerStatus(String node) {
    ExecResult r = lab.exec(node, "curl", "-s", "--max-time", "2", "http://127.0.0.1:9470/status");
    try {
      return new ObjectMapper().readTree(r.stdout());
    } catch (Exception e) {
      return new ObjectMapper().createObjectNode();
    }
  }
}
