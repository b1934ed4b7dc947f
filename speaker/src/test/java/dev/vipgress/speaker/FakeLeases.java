package dev.vipgress.speaker;

import dev.vipgress.election.LeaseApi;
import dev.vipgress.election.LeaseWatch;
import dev.vipgress.speaker.reconcile.ManualLoop;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executor;

/**
 * An in-memory Lease store on a {@link ManualLoop}, with the API server's concurrency rules
 * (resource versions, 409 on a stale write or an existing name, 404), one watch per caller, and a
 * request latency a test can raise (an API server too slow for the renewals).
 */
final class FakeLeases implements LeaseApi {
  private final ManualLoop loop;
  private final Map<String, V1Lease> objects = new TreeMap<>();
  private final List<LeaseWatch.Sink> sinks = new ArrayList<>();
  private long revision = 100;
  long latencyMillis = 2;

  FakeLeases(ManualLoop loop) {
    this.loop = loop;
  }

  /** Where the elector's blocking requests run: after the latency, on the loop. */
  Executor io() {
    return r -> loop.schedule(r, latencyMillis * 1_000_000L);
  }

  private static V1Lease copy(V1Lease l) {
    try {
      return V1Lease.fromJson(l.toJson());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public V1Lease get(String name) throws ApiException {
    V1Lease l = objects.get(name);
    if (l == null) {
      throw new ApiException(404, "not found");
    }
    return copy(l);
  }

  @Override
  public V1Lease create(V1Lease lease) throws ApiException {
    String name = lease.getMetadata().getName();
    if (objects.containsKey(name)) {
      throw new ApiException(409, "already exists");
    }
    return store("ADDED", lease);
  }

  @Override
  public V1Lease replace(V1Lease lease) throws ApiException {
    V1Lease cur = objects.get(lease.getMetadata().getName());
    if (cur == null) {
      throw new ApiException(404, "not found");
    }
    if (!cur.getMetadata().getResourceVersion().equals(lease.getMetadata().getResourceVersion())) {
      throw new ApiException(409, "conflict");
    }
    return store("MODIFIED", lease);
  }

  @Override
  public void delete(String name, String resourceVersion) throws ApiException {
    V1Lease cur = objects.get(name);
    if (cur == null) {
      throw new ApiException(404, "not found");
    }
    if (resourceVersion != null
        && !resourceVersion.equals(cur.getMetadata().getResourceVersion())) {
      throw new ApiException(409, "conflict");
    }
    objects.remove(name);
    cur.getMetadata().resourceVersion(Long.toString(++revision));
    notifyWatches("DELETED", cur);
  }

  private V1Lease store(String type, V1Lease lease) {
    V1Lease stored = copy(lease);
    stored.getMetadata().resourceVersion(Long.toString(++revision));
    objects.put(stored.getMetadata().getName(), stored);
    notifyWatches(type, stored);
    return copy(stored);
  }

  private void notifyWatches(String type, V1Lease l) {
    for (LeaseWatch.Sink s : List.copyOf(sinks)) {
      V1Lease c = copy(l);
      loop.schedule(() -> s.event(type, c), 1_000_000L);
    }
  }

  LeaseWatch watch() {
    return new LeaseWatch() {
      private LeaseWatch.Sink sink;

      @Override
      public void start(Sink s) {
        sink = s;
        sinks.add(s);
        loop.schedule(
            () -> s.snapshot(objects.values().stream().map(FakeLeases::copy).toList()), 1_000_000L);
      }

      @Override
      public void reconnect() {}

      @Override
      public void close() {
        sinks.remove(sink);
      }
    };
  }
}
