package dev.vipgress.election;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1DeleteOptions;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1Preconditions;
import io.kubernetes.client.openapi.models.V1Status;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;

/** {@link LeaseApi} on client-java, with a timeout per call (the shared client is left as is). */
final class KubeLeaseApi implements LeaseApi {
  private final ApiClient client;
  private final CoordinationV1Api api;
  private final String namespace;
  private final long timeoutMillis;

  KubeLeaseApi(ApiClient client, String namespace, Duration timeout) {
    this.client = client;
    this.api = new CoordinationV1Api(client);
    this.namespace = namespace;
    this.timeoutMillis = timeout.toMillis();
  }

  @Override
  public V1Lease get(String name) throws ApiException {
    return run(api.readNamespacedLease(name, namespace).buildCall(null), V1Lease.class);
  }

  @Override
  public V1Lease create(V1Lease lease) throws ApiException {
    return run(api.createNamespacedLease(namespace, lease).buildCall(null), V1Lease.class);
  }

  @Override
  public V1Lease replace(V1Lease lease) throws ApiException {
    String name = lease.getMetadata().getName();
    return run(api.replaceNamespacedLease(name, namespace, lease).buildCall(null), V1Lease.class);
  }

  @Override
  public void delete(String name, String resourceVersion) throws ApiException {
    V1DeleteOptions opts =
        new V1DeleteOptions().preconditions(new V1Preconditions().resourceVersion(resourceVersion));
    run(api.deleteNamespacedLease(name, namespace).body(opts).buildCall(null), V1Status.class);
  }

  private <T> T run(Call call, Class<T> type) throws ApiException {
    call.timeout().timeout(timeoutMillis, TimeUnit.MILLISECONDS);
    return client.<T>execute(call, type).getData();
  }
}
