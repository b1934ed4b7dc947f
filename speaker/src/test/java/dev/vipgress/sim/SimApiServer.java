package dev.vipgress.sim;

import dev.vipgress.election.LeaseApi;
import dev.vipgress.election.LeaseWatch;
import dev.vipgress.election.Leases;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An in-memory API server for Leases with etcd's semantics: one revision counter, a write carries
 * the resource version it replaces (409 when stale, 409 on creating an existing name, 404), a
 * change log that watches replay from a resource version, and compaction: a watch that resumes from
 * a version older than the retained history gets "too old" and must list again.
 */
final class SimApiServer {
  /** History a resuming watch can replay; older resource versions are "too old". */
  private static final long HISTORY_NANOS = World.ms(2_000);

  private record Change(long rv, long at, String type, V1Lease lease) {}

  private final World world;
  private final Map<String, V1Lease> objects = new TreeMap<>();
  private final ArrayDeque<Change> history = new ArrayDeque<>();
  private final List<Watch> watches = new ArrayList<>();
  private long revision = 1000;
  private long compactedBelow = 0;
  private boolean down;

  SimApiServer(World world) {
    this.world = world;
  }

  boolean down() {
    return down;
  }

  /** An outage for everyone: every request fails, every watch breaks. */
  void setDown(boolean value) {
    down = value;
    if (value) {
      for (Watch w : List.copyOf(watches)) {
        w.disconnect("API server down");
      }
    }
  }

  /** The link of {@code link} was cut: its watches break. */
  void linkCut(ApiLink link) {
    for (Watch w : List.copyOf(watches)) {
      if (w.link == link) {
        w.disconnect("partitioned from the API server");
      }
    }
  }

  List<Watch> watches() {
    return watches;
  }

  // ---- storage ----

  private void record(String type, V1Lease stored) {
    if (world.tracing()) {
      var a = stored.getMetadata().getAnnotations();
      world.note(
          "apiserver: "
              + type
              + " "
              + stored.getMetadata().getName()
              + " rv="
              + revision
              + " holder="
              + stored.getSpec().getHolderIdentity()
              + (a == null ? "" : " " + new TreeMap<>(a)));
    }
    history.add(new Change(revision, world.now(), type, Leases.copy(stored)));
    while (!history.isEmpty() && world.now() - history.peek().at() > HISTORY_NANOS) {
      compactedBelow = history.poll().rv() + 1;
    }
    for (Watch w : List.copyOf(watches)) {
      w.offer(history.peekLast());
    }
  }

  V1Lease get(String name) throws ApiException {
    V1Lease l = objects.get(name);
    if (l == null) {
      throw new ApiException(404, "leases \"" + name + "\" not found");
    }
    return Leases.copy(l);
  }

  V1Lease create(V1Lease lease) throws ApiException {
    String name = lease.getMetadata().getName();
    if (objects.containsKey(name)) {
      throw new ApiException(409, "leases \"" + name + "\" already exists");
    }
    V1Lease stored = Leases.copy(lease);
    revision++;
    stored.getMetadata().resourceVersion(Long.toString(revision)).uid("uid-" + revision);
    objects.put(name, stored);
    record("ADDED", stored);
    return Leases.copy(stored);
  }

  V1Lease replace(V1Lease lease) throws ApiException {
    String name = lease.getMetadata().getName();
    V1Lease cur = objects.get(name);
    if (cur == null) {
      throw new ApiException(404, "leases \"" + name + "\" not found");
    }
    String rv = lease.getMetadata().getResourceVersion();
    if (rv != null && !rv.isEmpty() && !rv.equals(cur.getMetadata().getResourceVersion())) {
      throw new ApiException(409, "the object has been modified; please apply your changes");
    }
    V1Lease stored = Leases.copy(lease);
    revision++;
    stored.getMetadata().resourceVersion(Long.toString(revision)).uid(cur.getMetadata().getUid());
    objects.put(name, stored);
    record("MODIFIED", stored);
    return Leases.copy(stored);
  }

  void delete(String name, String resourceVersion) throws ApiException {
    V1Lease cur = objects.get(name);
    if (cur == null) {
      throw new ApiException(404, "leases \"" + name + "\" not found");
    }
    if (resourceVersion != null
        && !resourceVersion.equals(cur.getMetadata().getResourceVersion())) {
      throw new ApiException(409, "precondition failed: resourceVersion");
    }
    objects.remove(name);
    V1Lease gone = Leases.copy(cur);
    revision++;
    gone.getMetadata().resourceVersion(Long.toString(revision));
    record("DELETED", gone);
  }

  /** kubectl delete lease: by hand, unconditionally. */
  boolean deleteByHand(String name) {
    try {
      delete(name, null);
      return true;
    } catch (ApiException e) {
      return false;
    }
  }

  List<String> names() {
    return new ArrayList<>(objects.keySet());
  }

  V1Lease peek(String name) {
    V1Lease l = objects.get(name);
    return l == null ? null : Leases.copy(l);
  }

  // ---- clients ----

  /** The Lease requests of one process, through its machine's link. */
  LeaseApi client(ApiLink link, String node) {
    return new LeaseApi() {
      private void note(String what, V1Lease l) {
        if (world.tracing()) {
          world.note(
              node
                  + " -> apiserver: "
                  + what
                  + " "
                  + l.getMetadata().getName()
                  + " at rv="
                  + l.getMetadata().getResourceVersion()
                  + " holder="
                  + (l.getSpec() == null ? null : l.getSpec().getHolderIdentity()));
        }
      }

      @Override
      public V1Lease get(String name) throws ApiException {
        link.beforeRequest();
        V1Lease out = SimApiServer.this.get(name);
        note("GET", out);
        return out;
      }

      @Override
      public V1Lease create(V1Lease lease) throws ApiException {
        note("CREATE", lease);
        link.beforeRequest();
        V1Lease out = SimApiServer.this.create(lease);
        link.afterWrite();
        return out;
      }

      @Override
      public V1Lease replace(V1Lease lease) throws ApiException {
        note("REPLACE", lease);
        link.beforeRequest();
        V1Lease out = SimApiServer.this.replace(lease);
        link.afterWrite();
        return out;
      }

      @Override
      public void delete(String name, String resourceVersion) throws ApiException {
        link.beforeRequest();
        SimApiServer.this.delete(name, resourceVersion);
        link.afterWrite();
      }
    };
  }

  /**
   * A list-then-watch of one process. Events arrive in commit order after a seeded latency; it can
   * lag, stall, restart (resuming from the last version seen, or listing again when that is too
   * old) and breaks while its machine cannot reach the API server, retrying until it can.
   */
  final class Watch implements LeaseWatch {
    final SimProcess process;
    final ApiLink link;
    private final long retryNanos;
    private Sink sink;
    private boolean closed;
    private boolean connected;
    private boolean connecting;
    private int epoch;
    private long lastRv = -1;
    private final ArrayDeque<Change> pending = new ArrayDeque<>();
    private boolean pumping;
    long stalledUntil = Long.MIN_VALUE;
    long lagUntil = Long.MIN_VALUE;
    long lagMillis;
    private long requests;

    Watch(SimProcess process, ApiLink link, long retryNanos) {
      this.process = process;
      this.link = link;
      this.retryNanos = retryNanos;
    }

    @Override
    public void start(Sink s) {
      sink = s;
      watches.add(this);
      scheduleConnect(link.requestDelay());
    }

    @Override
    public long requests() {
      return requests;
    }

    @Override
    public void reconnect() {
      if (closed) {
        return;
      }
      disconnect(null);
    }

    @Override
    public void close() {
      closed = true;
      connected = false;
      pending.clear();
      watches.remove(this);
    }

    /** The stream ends (server side or client side); the watch reconnects by itself. */
    void disconnect(String why) {
      if (closed) {
        return;
      }
      boolean was = connected;
      connected = false;
      epoch++;
      pending.clear();
      if (why != null && was) {
        String reason = why;
        process.post(
            world.micros(10, 500), "watch broken", () -> sink.broken(new ApiException(0, reason)));
      }
      scheduleConnect(world.nanosBetween(1, 50) + (was ? 0 : retryNanos));
    }

    /** A restart of the stream: like a dropped connection; too old if it was away for long. */
    void restart() {
      disconnect("watch stream restarted (simulated)");
    }

    private void scheduleConnect(long delay) {
      if (connecting || closed) {
        return;
      }
      connecting = true;
      process.post(delay, process.machine.name + " watch connect", this::connect);
    }

    private void connect() {
      connecting = false;
      if (closed || connected) {
        return;
      }
      requests++;
      if (!link.reachable()) {
        sink.broken(new ApiException(0, "connection refused (simulated)"));
        scheduleConnect(retryNanos);
        return;
      }
      connected = true;
      epoch++;
      if (lastRv < 0 || lastRv + 1 < compactedBelow) {
        // first list, or resuming from a version the server no longer has: 410 Gone, list again
        lastRv = revision;
        List<V1Lease> all = new ArrayList<>();
        for (V1Lease l : objects.values()) {
          all.add(Leases.copy(l));
        }
        sink.snapshot(all);
        return;
      }
      for (Change c : history) {
        if (c.rv() > lastRv) {
          pending.add(c);
        }
      }
      pump();
    }

    void offer(Change c) {
      if (!connected || closed) {
        return;
      }
      pending.add(c);
      pump();
    }

    private void pump() {
      if (pumping || pending.isEmpty()) {
        return;
      }
      pumping = true;
      long lag = world.now() < lagUntil ? world.nanosBetween(lagMillis / 2, lagMillis) : 0;
      int e = epoch;
      process.post(
          world.micros(100, 3_000) + lag, process.machine.name + " watch event", () -> deliver(e));
    }

    private void deliver(int e) {
      pumping = false;
      if (e != epoch || !connected || closed) {
        return;
      }
      if (world.now() < stalledUntil) {
        pumping = true;
        process.post(stalledUntil - world.now(), "watch stalled", () -> deliver(e));
        return;
      }
      Change c = pending.poll();
      if (c != null) {
        lastRv = c.rv();
        sink.event(c.type(), Leases.copy(c.lease()));
      }
      pump();
    }
  }

  Watch watch(SimProcess process, ApiLink link, long retryNanos) {
    return new Watch(process, link, retryNanos);
  }
}
