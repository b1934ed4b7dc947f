package dev.vipgress.election;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/** Electors on one {@link FakeApiServer} and one {@link FakeScheduler}; nodes can be killed. */
final class FakeCluster {
  final FakeScheduler sched = new FakeScheduler();
  final FakeApiServer server;
  final Ledger ledger = new Ledger(sched);
  final ElectionConfig config;
  final Map<String, Member> members = new LinkedHashMap<>();
  private final AtomicInteger incarnations = new AtomicInteger();

  /** One elector process. */
  static final class Member {
    final String node;
    final LeaseElector elector;
    final RecordingListener listener;
    final FakeApiServer.Client client;
    final boolean[] killed;

    Member(
        String node,
        LeaseElector elector,
        RecordingListener listener,
        FakeApiServer.Client client,
        boolean[] killed) {
      this.node = node;
      this.elector = elector;
      this.listener = listener;
      this.client = client;
      this.killed = killed;
    }
  }

  FakeCluster(ElectionConfig config, long seed) {
    this.config = config;
    this.server = new FakeApiServer(sched, seed);
  }

  FakeCluster(long seed) {
    this(ElectionConfig.defaults("vipgress"), seed);
  }

  Member start(String node, Set<String> vips) {
    Member m = create(node, vips);
    m.elector.start();
    return m;
  }

  Member create(String node, Set<String> vips) {
    boolean[] killed = {false};
    RecordingListener listener = new RecordingListener(node, sched, ledger);
    FakeApiServer.Client client = server.client();
    Scheduler loop =
        new Scheduler() {
          @Override
          public long nanoTime() {
            return sched.nanoTime();
          }

          @Override
          public void schedule(Runnable task, long delayNanos) {
            sched.schedule(guard(task, killed), delayNanos);
          }

          @Override
          public boolean inLoop() {
            return true;
          }

          @Override
          public void execute(Runnable task) {
            sched.execute(guard(task, killed));
          }
        };
    Executor events = r -> sched.execute(guard(r, killed));
    LeaseElector.Wiring wiring =
        new LeaseElector.Wiring(
            client,
            client.watch(),
            loop,
            client.executor(),
            client.executor(),
            events,
            Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC),
            () -> node + "-i" + incarnations.incrementAndGet(),
            () -> {});
    LeaseElector e = new LeaseElector(config, node, listener, wiring);
    e.setCandidacy(vips);
    Member m = new Member(node, e, listener, client, killed);
    members.put(node, m);
    return m;
  }

  private static Runnable guard(Runnable r, boolean[] killed) {
    return () -> {
      if (!killed[0]) {
        r.run();
      }
    };
  }

  /** SIGKILL: the process stops at once; requests already sent still reach the server. */
  void kill(String node) {
    Member m = members.get(node);
    m.killed[0] = true;
    m.listener.dead = true;
  }

  Member member(String node) {
    return members.get(node);
  }

  /** The node each live member believes owns each VIP (must agree with every other member). */
  Map<String, String> ownership() {
    Map<String, String> out = new HashMap<>();
    for (Member m : members.values()) {
      if (m.killed[0]) {
        continue;
      }
      for (String v : m.listener.ownedNow()) {
        String prev = out.put(v, m.node);
        if (prev != null) {
          throw new AssertionError(v + " owned by both " + prev + " and " + m.node);
        }
      }
    }
    return out;
  }

  Map<String, Integer> counts() {
    Map<String, Integer> c = new HashMap<>();
    ownership().values().forEach(n -> c.merge(n, 1, Integer::sum));
    return c;
  }

  static Set<String> vips(int n) {
    Set<String> s = new HashSet<>();
    for (int i = 0; i < n; i++) {
      s.add("10." + (20 + i / 65536) + "." + ((i / 256) % 256) + "." + (i % 256));
    }
    return s;
  }

  List<String> liveNodes() {
    List<String> out = new ArrayList<>();
    members
        .values()
        .forEach(
            m -> {
              if (!m.killed[0]) {
                out.add(m.node);
              }
            });
    return out;
  }
}
