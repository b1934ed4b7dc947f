package dev.vipgress.election;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Executor;

/**
 * An in-memory Lease store with the API server's concurrency rules (resource versions, 409 on a
 * stale write or an existing name, 404), watches, request counting, and failure modes: {@link
 * #freeze()} (SIGSTOP: requests wait), {@link #setDown} (connection refused), per-client partitions
 * and latency.
 */
final class FakeApiServer {
  enum Verb {
    GET,
    CREATE,
    UPDATE,
    DELETE
  }

  private final FakeScheduler sched;
  private final Map<String, V1Lease> objects = new TreeMap<>();
  private final List<Watch> watches = new ArrayList<>();
  private final List<Runnable> frozenQueue = new ArrayList<>();
  private final Map<Verb, Long> requests = new EnumMap<>(Verb.class);
  private final Random random;
  private long revision = 100;
  private boolean frozen;
  private boolean down;
  long latencyMillis = 2;
  long jitterMillis = 0;
  long watchLatencyMillis = 1;

  /**
   * Resource versions are unordered numbers (they are opaque: the API server promises only that
   * equal means unchanged), to catch code that orders them.
   */
  boolean opaqueVersions;

  private final java.util.Set<Long> usedVersions = new java.util.HashSet<>();

  /**
   * VIP Leases created with a holder other than the one of its deleted predecessor while no genesis
   * Lease existed: first owners come only from a genesis Lease.
   */
  final List<String> claimedOutsideGenesis = new ArrayList<>();

  private final Map<String, String> lastHolder = new java.util.HashMap<>();

  private String nextVersion() {
    ++revision;
    if (!opaqueVersions) {
      return Long.toString(revision);
    }
    long v;
    do {
      v = 1_000_000L + random.nextLong(9_000_000L);
    } while (!usedVersions.add(v));
    return Long.toString(v);
  }

  FakeApiServer(FakeScheduler sched, long seed) {
    this.sched = sched;
    this.random = new Random(seed);
    for (Verb v : Verb.values()) {
      requests.put(v, 0L);
    }
  }

  // ---- failure modes ----

  void freeze() {
    frozen = true;
  }

  void thaw() {
    frozen = false;
    List<Runnable> q = new ArrayList<>(frozenQueue);
    frozenQueue.clear();
    for (Runnable r : q) {
      sched.execute(r);
    }
  }

  void setDown(boolean value) {
    down = value;
  }

  long requests(Verb v) {
    return requests.get(v);
  }

  long writes() {
    return requests(Verb.CREATE) + requests(Verb.UPDATE) + requests(Verb.DELETE);
  }

  long totalRequests() {
    return writes() + requests(Verb.GET);
  }

  // ---- per-elector view ----

  /** One process's connection: its own partition flag and extra latency. */
  final class Client implements LeaseApi {
    boolean partitioned;
    long extraLatencyMillis;

    /**
     * The watch connection is broken and has not re-listed yet: events are lost (not held) until
     * {@link #relist()} (a watch that expired and must list again).
     */
    boolean watchBroken;

    /**
     * The watch stream stalls: events are held, in order, and delivered on {@link #unstall()}
     * (requests still succeed; the elector is not told: its view is consistent but old).
     */
    boolean watchStalled;

    /** A stalled watch delivers what it held, then events as they happen. */
    void unstall() {
      watchStalled = false;
      if (watch != null) {
        watch.reconnect();
      }
    }

    private Watch watch;

    /** The broken watch lists again: a fresh snapshot, then events as they happen. */
    void relist() {
      watchBroken = false;
      if (watch != null) {
        watch.snapshot();
      }
    }

    /** Runs a request: after the latency, unless the server is frozen (then on thaw). */
    Executor executor() {
      return r -> {
        long delay =
            latencyMillis
                + extraLatencyMillis
                + (jitterMillis > 0 ? random.nextLong(jitterMillis + 1) : 0);
        sched.schedule(
            () -> {
              if (frozen) {
                frozenQueue.add(r);
              } else {
                r.run();
              }
            },
            delay * 1_000_000L);
      };
    }

    private void check() throws ApiException {
      if (down || partitioned) {
        throw new ApiException(0, "connection refused");
      }
    }

    @Override
    public V1Lease get(String name) throws ApiException {
      check();
      count(Verb.GET);
      V1Lease l = objects.get(name);
      if (l == null) {
        throw new ApiException(404, "not found");
      }
      return Leases.copy(l);
    }

    @Override
    public V1Lease create(V1Lease lease) throws ApiException {
      check();
      count(Verb.CREATE);
      return FakeApiServer.this.create(lease);
    }

    @Override
    public V1Lease replace(V1Lease lease) throws ApiException {
      check();
      count(Verb.UPDATE);
      String name = lease.getMetadata().getName();
      V1Lease cur = objects.get(name);
      if (cur == null) {
        throw new ApiException(404, "not found");
      }
      if (!Leases.resourceVersion(cur).equals(Leases.resourceVersion(lease))) {
        throw new ApiException(409, "conflict");
      }
      V1Lease stored = Leases.copy(lease);
      stored.getMetadata().resourceVersion(nextVersion());
      objects.put(name, stored);
      notifyWatches("MODIFIED", stored);
      return Leases.copy(stored);
    }

    @Override
    public void delete(String name, String resourceVersion) throws ApiException {
      check();
      count(Verb.DELETE);
      V1Lease cur = objects.get(name);
      if (cur == null) {
        throw new ApiException(404, "not found");
      }
      if (resourceVersion != null && !resourceVersion.equals(Leases.resourceVersion(cur))) {
        throw new ApiException(409, "conflict");
      }
      FakeApiServer.this.deleteByHand(name);
    }

    LeaseWatch watch() {
      watch = new Watch(this);
      return watch;
    }
  }

  Client client() {
    return new Client();
  }

  private void count(Verb v) {
    requests.merge(v, 1L, Long::sum);
  }

  // ---- direct manipulation (kubectl) ----

  V1Lease create(V1Lease lease) throws ApiException {
    String name = lease.getMetadata().getName();
    if (objects.containsKey(name)) {
      throw new ApiException(409, "already exists");
    }
    String holder = Leases.holder(lease);
    if (Leases.isVipLease(lease)
        && !holder.isEmpty()
        && !objects.containsKey(Genesis.NAME)
        && !holder.equals(lastHolder.get(name))) {
      claimedOutsideGenesis.add(name + " by " + holder);
    }
    V1Lease stored = Leases.copy(lease);
    stored.getMetadata().resourceVersion(nextVersion()).uid("uid-" + revision);
    objects.put(name, stored);
    notifyWatches("ADDED", stored);
    return Leases.copy(stored);
  }

  /** Writes {@code lease} over whatever is stored under its name, unconditionally (kubectl). */
  V1Lease replaceByHand(V1Lease lease) {
    String name = lease.getMetadata().getName();
    V1Lease stored = Leases.copy(lease);
    V1Lease cur = objects.get(name);
    stored
        .getMetadata()
        .resourceVersion(nextVersion())
        .uid(cur != null ? Leases.uid(cur) : "uid-" + revision);
    objects.put(name, stored);
    notifyWatches(cur == null ? "ADDED" : "MODIFIED", stored);
    return Leases.copy(stored);
  }

  void deleteByHand(String name) {
    V1Lease cur = objects.remove(name);
    if (cur != null) {
      lastHolder.put(name, Leases.holder(cur));
      V1Lease gone = Leases.copy(cur);
      gone.getMetadata().resourceVersion(nextVersion());
      notifyWatches("DELETED", gone);
    }
  }

  V1Lease lease(String name) {
    V1Lease l = objects.get(name);
    return l == null ? null : Leases.copy(l);
  }

  Collection<V1Lease> all() {
    return objects.values().stream().map(Leases::copy).toList();
  }

  // ---- watches ----

  private void notifyWatches(String type, V1Lease l) {
    for (Watch w : List.copyOf(watches)) {
      V1Lease copy = Leases.copy(l);
      sched.schedule(() -> w.deliver(type, copy), watchLatencyMillis * 1_000_000L);
    }
  }

  private final class Watch implements LeaseWatch {
    private final Client client;
    private Sink sink;
    private boolean closed;
    private final List<Runnable> held = new ArrayList<>();

    Watch(Client client) {
      this.client = client;
    }

    @Override
    public void start(Sink s) {
      this.sink = s;
      watches.add(this);
      sched.schedule(this::snapshot, watchLatencyMillis * 1_000_000L);
    }

    private void snapshot() {
      if (closed) {
        return;
      }
      if (down || client.partitioned || frozen || client.watchBroken) {
        sched.schedule(this::snapshot, 50_000_000L);
        return;
      }
      sink.snapshot(all().stream().toList());
    }

    void deliver(String type, V1Lease l) {
      if (closed || client.watchBroken) {
        return;
      }
      if (client.partitioned || client.watchStalled) {
        held.add(() -> sink.event(type, l));
        return;
      }
      for (Runnable r : List.copyOf(held)) {
        r.run();
      }
      held.clear();
      sink.event(type, l);
    }

    @Override
    public void reconnect() {
      if (!held.isEmpty() && !client.partitioned && !client.watchStalled) {
        List<Runnable> h = List.copyOf(held);
        held.clear();
        for (Runnable r : h) {
          r.run();
        }
      }
    }

    @Override
    public void close() {
      closed = true;
      watches.remove(this);
    }
  }
}
