package dev.vipgress.election;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * {@code make bench-election}: one {@link ElectorMain} process per lab node namespace against the
 * lab API server, with 1,000 and 10,000 VIPs. Measures cold start and spread, steady-state API
 * requests (from the API server's {@code apiserver_request_total}), failover after SIGKILL of an
 * owner, handover after SIGTERM, RSS and threads per process, and dual-owner violations replayed
 * from every process's event log. Prints one JSON line per VIP count; the last line is the last
 * count's.
 *
 * <p>Arguments: {@code --vips 1000,10000 --steady-s 60 --kills 20 --handovers 5 --classpath CP}.
 */
public final class ElectionBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path repo;
  private final String classpath;
  private final JsonNode status;
  private final int nodes;

  private ElectionBench(Path repo, String classpath) throws Exception {
    this.repo = repo;
    this.classpath = classpath;
    this.status = JSON.readTree(run(repo.resolve("frr-test/lab").toString(), "status", "--json"));
    if (!status.path("up").asBoolean()) {
      throw new IllegalStateException("the lab is not up");
    }
    this.nodes = status.path("nodes").asInt();
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    Path repo = Path.of(opts.getOrDefault("repo", ".")).toAbsolutePath().normalize();
    String cp = opts.getOrDefault("classpath", System.getProperty("java.class.path"));
    ElectionBench bench = new ElectionBench(repo, cp);
    int steady = Integer.parseInt(opts.getOrDefault("steady-s", "60"));
    int kills = Integer.parseInt(opts.getOrDefault("kills", "20"));
    int handovers = Integer.parseInt(opts.getOrDefault("handovers", "5"));
    for (String n : opts.getOrDefault("vips", "1000,10000").split(",")) {
      String line = bench.run(Integer.parseInt(n.trim()), steady, kills, handovers);
      System.out.println(line);
      System.out.flush();
    }
  }

  private String run(int vipCount, int steadySeconds, int kills, int handovers) throws Exception {
    String ns =
        "bench-election-"
            + vipCount
            + "-"
            + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
    kubectl("create", "namespace", ns);
    Timeline timeline = new Timeline();
    Map<String, Elector> procs = new LinkedHashMap<>();
    // what the rest of the lab asks of the API server (speakers others run, controllers)
    long b1 = requestTotal();
    long bt1 = System.nanoTime();
    Thread.sleep(Math.min(20, steadySeconds) * 1000L);
    double baseline = (requestTotal() - b1 - 1) / ((System.nanoTime() - bt1) / 1e9);
    log("baseline before the electors: %.2f requests/s", baseline);
    try {
      // cold start
      long apiserverPid = status.path("processes").path("kube-apiserver").asLong();
      double apiserverCpu0 = cpuSeconds(apiserverPid);
      long t0 = System.nanoTime();
      for (int i = 1; i <= nodes; i++) {
        String node = "node" + i;
        procs.put(node, Elector.spawn(this, ns, node, vipCount, timeline));
      }
      for (Elector e : procs.values()) {
        e.awaitStarted();
      }
      awaitCondition(
          "every VIP owned once",
          Duration.ofSeconds(180),
          () -> ownership(procs.values()).size() == vipCount);
      long lastAcquire =
          timeline.events().stream()
              .filter(e -> e.type().equals("acquired"))
              .mapToLong(Timeline.Event::t)
              .max()
              .orElseThrow();
      double coldStart = (lastAcquire - t0) / 1e9;
      Map<String, Integer> counts = new HashMap<>();
      ownership(procs.values()).values().forEach(n -> counts.merge(n, 1, Integer::sum));
      double share = vipCount / (double) nodes;
      double spread = 0;
      for (int i = 1; i <= nodes; i++) {
        spread = Math.max(spread, Math.abs(counts.getOrDefault("node" + i, 0) - share) / share);
      }
      log("cold start %.2f s, spread %s", coldStart, counts);
      StringBuilder cpu = new StringBuilder();
      for (Elector e : procs.values()) {
        cpu.append(String.format(Locale.ROOT, " %s %.1f s,", e.node, cpuSeconds(e.pid())));
      }
      log("cold start CPU:%s kube-apiserver %.1f s", cpu, cpuSeconds(apiserverPid) - apiserverCpu0);
      long[] acq =
          timeline.events().stream()
              .filter(e -> e.type().equals("acquired"))
              .mapToLong(Timeline.Event::t)
              .sorted()
              .toArray();
      log(
          "cold start profile: first acquired %.2f s, 10%% %.2f s, 50%% %.2f s, 90%% %.2f s",
          (acq[0] - t0) / 1e9,
          (acq[acq.length / 10] - t0) / 1e9,
          (acq[acq.length / 2] - t0) / 1e9,
          (acq[acq.length * 9 / 10] - t0) / 1e9);

      // the VIP Leases are written after ownership (the genesis Lease gave the first owners);
      // steady state begins once that is done and the genesis Lease is gone
      awaitCondition(
          "genesis Lease deleted (every VIP Lease written)",
          Duration.ofSeconds(300),
          () -> !genesisExists(ns));
      double materialised = (System.nanoTime() - t0) / 1e9;
      log("every VIP Lease written, genesis Lease deleted after %.2f s", materialised);

      // steady state
      Thread.sleep(5000);
      long c1 = 0;
      for (Elector e : procs.values()) {
        c1 += e.requests();
      }
      long m1 = requestTotal();
      long s1 = System.nanoTime();
      Thread.sleep(steadySeconds * 1000L);
      long m2 = requestTotal();
      long s2 = System.nanoTime();
      long c2 = 0;
      for (Elector e : procs.values()) {
        c2 += e.requests();
      }
      double clientRps = (c2 - c1) / ((s2 - s1) / 1e9);
      double rps = (m2 - m1 - 1) / ((s2 - s1) / 1e9); // minus our own first scrape
      log(
          "steady state: %.2f requests/s over %d s (%.2f from the electors)",
          rps, steadySeconds, rps - baseline);
      long rss = 0;
      int threads = 0;
      for (Elector e : procs.values()) {
        long[] st = procStatus(e.pid());
        rss = Math.max(rss, st[0]);
        threads = Math.max(threads, (int) st[1]);
      }

      // failover after SIGKILL
      List<Double> perVip = new ArrayList<>();
      List<Double> perKill = new ArrayList<>();
      for (int k = 0; k < kills; k++) {
        Elector victim = mostOwning(procs.values());
        Thread.sleep(ThreadLocalRandom.current().nextLong(500, 1500));
        Set<String> victimVips = victim.ownedNow();
        long tKill = System.nanoTime();
        victim.kill();
        awaitCondition(
            "VIPs of the killed " + victim.node + " taken over",
            Duration.ofSeconds(120),
            () -> {
              for (String v : victimVips) {
                if (timeline.firstAcquiredAfter(v, victim.key(), tKill) < 0) {
                  return false;
                }
              }
              return true;
            });
        double worst = 0;
        for (String v : victimVips) {
          double s = (timeline.firstAcquiredAfter(v, victim.key(), tKill) - tKill) / 1e9;
          perVip.add(s);
          worst = Math.max(worst, s);
        }
        perKill.add(worst);
        log(
            "kill %d of %s (%d VIPs): all moved after %.3f s",
            k + 1, victim.node, victimVips.size(), worst);
        procs.put(victim.node, Elector.spawn(this, ns, victim.node, vipCount, timeline));
        procs.get(victim.node).awaitStarted();
        Thread.sleep(2500); // the restarted elector claims its node Lease (waits out the old one)
      }

      // handover after SIGTERM
      List<Double> handover = new ArrayList<>();
      for (int h = 0; h < handovers; h++) {
        Elector victim = mostOwning(procs.values());
        Thread.sleep(1000);
        Set<String> victimVips = victim.ownedNow();
        long tTerm = System.nanoTime();
        victim.terminate();
        awaitCondition(
            "VIPs of the stopped " + victim.node + " taken over",
            Duration.ofSeconds(120),
            () -> {
              for (String v : victimVips) {
                if (timeline.firstAcquiredAfter(v, victim.key(), tTerm) < 0) {
                  return false;
                }
              }
              return true;
            });
        double worst = 0;
        for (String v : victimVips) {
          worst =
              Math.max(worst, (timeline.firstAcquiredAfter(v, victim.key(), tTerm) - tTerm) / 1e9);
        }
        handover.add(worst);
        long[] lost = span(timeline, "lost", victim.key(), true, tTerm);
        long[] got = span(timeline, "acquired", victim.key(), false, tTerm);
        log(
            "  after SIGTERM: lost() %.3f..%.3f s, peers' acquired() %.3f..%.3f s",
            (lost[0] - tTerm) / 1e9,
            (lost[1] - tTerm) / 1e9,
            (got[0] - tTerm) / 1e9,
            (got[1] - tTerm) / 1e9);
        log(
            "SIGTERM %d of %s (%d VIPs): all moved after %.3f s",
            h + 1, victim.node, victimVips.size(), worst);
        procs.put(victim.node, Elector.spawn(this, ns, victim.node, vipCount, timeline));
        procs.get(victim.node).awaitStarted();
        Thread.sleep(2500);
      }

      List<String> violations = timeline.violations();
      violations.stream().limit(5).forEach(v -> log("VIOLATION %s", v));
      ElectionConfig d = ElectionConfig.defaults(ns);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("bench", "election");
      out.put("vips", vipCount);
      out.put("nodes", nodes);
      out.put("api_rps_steady", round(rps, 2));
      out.put("api_rps_lab_baseline", round(baseline, 2));
      out.put("api_rps_electors_counted", round(clientRps, 2));
      out.put("failover_p50_s", round(percentile(perVip, 50), 3));
      out.put("failover_p99_s", round(percentile(perVip, 99), 3));
      out.put("failover_runs", kills);
      out.put("failover_all_moved_p50_s", round(percentile(perKill, 50), 3));
      out.put("failover_all_moved_max_s", round(percentile(perKill, 100), 3));
      out.put("handover_s", round(percentile(handover, 50), 3));
      out.put("handover_max_s", round(percentile(handover, 100), 3));
      out.put("cold_start_s", round(coldStart, 2));
      out.put("leases_written_s", round(materialised, 2));
      out.put("spread_max_dev", round(spread, 4));
      out.put("rss_mib", round(rss / 1024.0, 1));
      out.put("threads", threads);
      out.put("dual_owner_violations", violations.size());
      out.put("steady_window_s", steadySeconds);
      out.put("lease_duration_ms", d.leaseDuration().toMillis());
      out.put("renew_interval_ms", d.renewInterval().toMillis());
      out.put("fencing_margin_ms", d.fencingMargin().toMillis());
      out.put("api_concurrency", d.apiConcurrency());
      return JSON.writeValueAsString(out);
    } finally {
      for (Elector e : procs.values()) {
        e.kill();
      }
      try {
        kubectl("delete", "namespace", ns, "--wait=false");
      } catch (RuntimeException e) {
        log("could not delete namespace %s: %s", ns, e.getMessage());
      }
    }
  }

  // ---- helpers ----

  private static Map<String, String> ownership(java.util.Collection<Elector> procs) {
    Map<String, String> out = new HashMap<>();
    for (Elector e : procs) {
      for (String v : e.ownedNow()) {
        if (out.put(v, e.node) != null) {
          return Map.of(); // two owners right now: not settled
        }
      }
    }
    return out;
  }

  private static Elector mostOwning(java.util.Collection<Elector> procs) {
    return procs.stream()
        .max((a, b) -> Integer.compare(a.owned.size(), b.owned.size()))
        .orElseThrow();
  }

  private static double percentile(List<Double> xs, int p) {
    if (xs.isEmpty()) {
      return -1;
    }
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    int i = (int) Math.ceil(p / 100.0 * s.size()) - 1;
    return s.get(Math.max(0, Math.min(s.size() - 1, i)));
  }

  private long requestTotal() {
    String metrics =
        run(repo.resolve("frr-test/lab").toString(), "kubectl", "get", "--raw", "/metrics");
    long sum = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith("apiserver_request_total{")) {
        sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** User + system CPU time of a process so far (clock ticks of 10 ms). */
  private static double cpuSeconds(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  private static long[] procStatus(long pid) throws IOException {
    long rss = 0;
    long threads = 0;
    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (l.startsWith("VmRSS:")) {
        rss = Long.parseLong(l.replaceAll("\\D+", ""));
      } else if (l.startsWith("Threads:")) {
        threads = Long.parseLong(l.replaceAll("\\D+", ""));
      }
    }
    return new long[] {rss, threads};
  }

  /** First and last time of events of {@code type} after {@code t}, by {@code key} or by others. */
  private static long[] span(Timeline tl, String type, String key, boolean byKey, long t) {
    long[] r = {Long.MAX_VALUE, t};
    for (Timeline.Event e : tl.events()) {
      if (e.type().equals(type) && e.node().equals(key) == byKey && e.t() > t) {
        r[0] = Math.min(r[0], e.t());
        r[1] = Math.max(r[1], e.t());
      }
    }
    if (r[0] == Long.MAX_VALUE) {
      r[0] = t;
    }
    return r;
  }

  private boolean genesisExists(String ns) {
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String out =
        run(
            repo.resolve("frr-test/lab").toString(),
            "kubectl",
            "-n",
            ns,
            "get",
            "lease",
            Genesis.NAME,
            "--ignore-not-found",
            "-o",
            "name");
    return !out.isBlank();
  }

  private void kubectl(String... args) {
    List<String> a = new ArrayList<>(List.of(repo.resolve("frr-test/lab").toString(), "kubectl"));
    a.addAll(Arrays.asList(args));
    run(a.toArray(String[]::new));
  }

  private static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("failed: " + String.join(" ", cmd));
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void awaitCondition(String what, Duration max, BooleanSupplier cond)
      throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException("timed out waiting for " + what);
      }
      Thread.sleep(10);
    }
  }

  static void log(String fmt, Object... args) {
    System.err.printf("[bench-election] " + fmt + "%n", args);
  }

  /** One elector process in a node's network namespace. */
  private static final class Elector {
    final String node;
    private final Process process;
    private final Timeline timeline;
    final Map<String, Long> owned = new ConcurrentHashMap<>();
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch outDone = new CountDownLatch(1);

    private final File log;
    private final java.io.Writer stdin;
    private final java.util.concurrent.LinkedBlockingQueue<Long> metricReplies =
        new java.util.concurrent.LinkedBlockingQueue<>();

    private Elector(String node, Process process, Timeline timeline, File log) {
      this.node = node;
      this.process = process;
      this.timeline = timeline;
      this.log = log;
      this.stdin =
          new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      Thread.ofPlatform().daemon().name("bench-" + node).start(this::read);
    }

    static Elector spawn(ElectionBench b, String ns, String node, int vips, Timeline timeline)
        throws Exception {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> cmd = new ArrayList<>();
      cmd.addAll(
          List.of(
              "ip",
              "netns",
              "exec",
              b.status.path("hosts").path(node).path("netns").asText(),
              java,
              "-Xms32m",
              "-Xmx200m",
              "-XX:+UseSerialGC",
              "-XX:TieredStopAtLevel=1",
              "-XX:ReservedCodeCacheSize=32m",
              "-XX:MaxMetaspaceSize=96m",
              "-Xss512k",
              "-cp",
              b.classpath,
              ElectorMain.class.getName(),
              "--kubeconfig",
              b.status.path("kubeconfigLan").asText(),
              "--namespace",
              ns,
              "--node",
              node,
              "--vip-count",
              Integer.toString(vips)));
      String extra = System.getenv("BENCH_ELECTION_ELECTOR_ARGS");
      if (extra != null && !extra.isBlank()) {
        cmd.addAll(Arrays.asList(extra.trim().split("\\s+")));
      }
      File log = new File("/tmp/bench-election-" + ns + "-" + node + ".log");
      Process p =
          new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log)).start();
      return new Elector(node, p, timeline, log);
    }

    /** The elector's own count of the API requests it sent. */
    long requests() throws IOException, InterruptedException {
      metricReplies.clear();
      stdin.write("metrics\n");
      stdin.flush();
      Long n = metricReplies.poll(10, TimeUnit.SECONDS);
      if (n == null) {
        throw new IllegalStateException(node + " did not answer 'metrics'");
      }
      return n;
    }

    void awaitStarted() throws InterruptedException {
      if (!started.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException(node + " did not start; see " + log);
      }
    }

    /** Timeline identity: one per process, so a restarted node is a different owner. */
    String key() {
      return node + "#" + process.pid();
    }

    long pid() {
      return process.pid();
    }

    Set<String> ownedNow() {
      long now = System.nanoTime();
      Set<String> s = new TreeSet<>();
      owned.forEach(
          (v, d) -> {
            if (d - now > 0) {
              s.add(v);
            }
          });
      return s;
    }

    private void read() {
      try (BufferedReader r =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          handle(l);
        }
      } catch (IOException e) {
        // gone
      } finally {
        outDone.countDown();
      }
    }

    private void handle(String line) {
      JsonNode n;
      try {
        n = JSON.readTree(line);
      } catch (IOException e) {
        return; // not one of ElectorMain's JSON lines
      }
      if (n == null || !n.isObject()) {
        return;
      }
      String ev = n.path("ev").textValue();
      String vip = n.path("vip").textValue();
      long t = n.path("t").asLong();
      long deadline = n.path("deadline").asLong();
      long requests = n.path("requests").asLong();
      if (ev == null) {
        return;
      }
      switch (ev) {
        case "started" -> started.countDown();
        case "metrics" -> metricReplies.add(requests);
        case "acquired" -> {
          owned.put(vip, deadline);
          timeline.add(new Timeline.Event(t, key(), "acquired", vip, deadline, null));
        }
        case "renewed" -> {
          long d = deadline;
          owned.replaceAll((k, v) -> d);
          timeline.add(new Timeline.Event(t, key(), "renewed", null, deadline, null));
        }
        case "lost" -> {
          owned.remove(vip);
          timeline.add(new Timeline.Event(t, key(), "lost", vip, 0, null));
        }
        default -> {}
      }
    }

    void kill() throws InterruptedException {
      if (process.isAlive()) {
        process.toHandle().destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        outDone.await(5, TimeUnit.SECONDS);
      }
    }

    void terminate() throws InterruptedException {
      process.toHandle().destroy();
      process.waitFor(30, TimeUnit.SECONDS);
      outDone.await(5, TimeUnit.SECONDS);
    }
  }

  /** {@code v} rounded to {@code digits} decimals for the JSON line. */
  private static double round(double v, int digits) {
    if (!Double.isFinite(v)) {
      return v;
    }
    return java.math.BigDecimal.valueOf(v)
        .setScale(digits, java.math.RoundingMode.HALF_UP)
        .doubleValue();
  }
}
