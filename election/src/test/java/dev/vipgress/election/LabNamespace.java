package dev.vipgress.election;

import dev.vipgress.lab.Lab;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

/** A namespace of its own for one lab test, deleted afterwards; and waiting helpers. */
final class LabNamespace implements AutoCloseable {
  final String name;
  final ApiClient client;
  final Lab lab;

  LabNamespace(Lab lab, String prefix) throws ApiException {
    this.lab = lab;
    this.client = lab.apiClient();
    this.name =
        (prefix.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-")
                + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff)))
            .replaceAll("^-+", "");
    new CoreV1Api(client)
        .createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(name)))
        .execute();
  }

  List<V1Lease> leases() throws ApiException {
    return new CoordinationV1Api(client).listNamespacedLease(name).execute().getItems();
  }

  /**
   * Waits until {@code count} VIP Leases exist and the genesis Lease is gone: the owners the
   * genesis Lease gave have written the VIP Leases in their names.
   */
  void awaitVipLeasesWritten(int count) throws InterruptedException {
    await(
        "every VIP Lease written, the genesis Lease deleted",
        Duration.ofSeconds(30),
        () -> {
          List<V1Lease> now;
          try {
            now = leases();
          } catch (ApiException e) {
            return false;
          }
          return now.stream()
                      .filter(l -> VipAddress.fromLeaseName(l.getMetadata().getName()) != null)
                      .count()
                  == count
              && now.stream().noneMatch(l -> Genesis.NAME.equals(l.getMetadata().getName()));
        });
  }

  V1Lease lease(String leaseName) throws ApiException {
    return new CoordinationV1Api(client).readNamespacedLease(leaseName, name).execute();
  }

  void deleteLease(String leaseName) throws ApiException {
    new CoordinationV1Api(client).deleteNamespacedLease(leaseName, name).execute();
  }

  static void await(String what, Duration max, BooleanSupplier condition)
      throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("timed out after " + max + " waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void close() {
    try {
      new CoreV1Api(client).deleteNamespace(name).execute();
    } catch (ApiException e) {
      // best effort: the namespace controller removes what is left
    }
  }
}
