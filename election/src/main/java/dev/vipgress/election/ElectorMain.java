package dev.vipgress.election;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * One elector as a process, for tests and the benchmark: prints every event as a JSON line on
 * stdout (with its {@link System#nanoTime()}, comparable across processes of one host) and takes
 * commands on stdin ({@code healthy true|false}, {@code candidacy a,b,c}, {@code metrics}, {@code
 * close}). SIGTERM closes the elector gracefully.
 *
 * <pre>
 * ElectorMain --kubeconfig FILE --namespace NS --node NAME (--vips a,b | --vip-count N [--vip-base 10.20.0.0])
 *             [--lease-duration-ms N] [--renew-interval-ms N] [--startup-grace-ms N]
 *             [--api-concurrency N] [--owner-events]
 * </pre>
 */
public final class ElectorMain {
  private ElectorMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = parse(args);
    String kubeconfig = require(opts, "kubeconfig");
    String namespace = require(opts, "namespace");
    String node = require(opts, "node");
    Set<String> vips = vips(opts);
    ElectionConfig.Builder b = ElectionConfig.builder(namespace);
    if (opts.containsKey("lease-duration-ms")) {
      b.leaseDuration(Duration.ofMillis(Long.parseLong(opts.get("lease-duration-ms"))));
    }
    if (opts.containsKey("renew-interval-ms")) {
      b.renewInterval(Duration.ofMillis(Long.parseLong(opts.get("renew-interval-ms"))));
    }
    if (opts.containsKey("api-concurrency")) {
      b.apiConcurrency(Integer.parseInt(opts.get("api-concurrency")));
    }
    if (opts.containsKey("startup-grace-ms")) {
      b.startupGrace(Duration.ofMillis(Long.parseLong(opts.get("startup-grace-ms"))));
    }
    ElectionConfig config = b.build();
    PrintStream out =
        new PrintStream(
            new java.io.BufferedOutputStream(
                new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16),
            false,
            StandardCharsets.UTF_8);
    JsonLines lines = new JsonLines(out, opts.containsKey("owner-events"));

    ApiClient client = Config.fromConfig(kubeconfig);
    LeaseElector elector = new LeaseElector(config, client, node, lines);
    elector.setCandidacy(vips);
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  elector.close();
                  lines.line("{\"ev\":\"closed\",\"t\":" + System.nanoTime() + "}");
                  lines.flush();
                  closed.countDown();
                }));
    elector.start();
    lines.line(
        "{\"ev\":\"started\",\"t\":"
            + System.nanoTime()
            + ",\"node\":\""
            + node
            + "\",\"pid\":"
            + ProcessHandle.current().pid()
            + "}");

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String cmd;
    while ((cmd = in.readLine()) != null) {
      String[] w = cmd.trim().split("\\s+", 2);
      switch (w[0]) {
        case "healthy" -> elector.setHealthy(Boolean.parseBoolean(w[1]));
        case "candidacy" ->
            elector.setCandidacy(
                w.length < 2 ? Set.of() : new LinkedHashSet<>(Arrays.asList(w[1].split(","))));
        case "metrics" -> {
          ElectionMetrics m = elector.metrics();
          lines.line(
              "{\"ev\":\"metrics\",\"t\":"
                  + System.nanoTime()
                  + ",\"requests\":"
                  + m.apiRequests()
                  + ",\"renewals\":"
                  + m.renewals()
                  + ",\"owned\":"
                  + m.ownedVips()
                  + ",\"fences\":"
                  + m.fences()
                  + ",\"conflicts\":"
                  + m.conflicts()
                  + "}");
        }
        case "close" -> System.exit(0);
        default -> {}
      }
    }
    closed.await(); // stdin closed: keep running until SIGTERM / SIGKILL
  }

  private static Set<String> vips(Map<String, String> opts) {
    Set<String> vips = new LinkedHashSet<>();
    if (opts.containsKey("vips") && !opts.get("vips").isEmpty()) {
      vips.addAll(Arrays.asList(opts.get("vips").split(",")));
    }
    if (opts.containsKey("vip-count")) {
      int n = Integer.parseInt(opts.get("vip-count"));
      String[] base = opts.getOrDefault("vip-base", "10.20.0.0").split("\\.");
      long start =
          (Long.parseLong(base[0]) << 24)
              | (Long.parseLong(base[1]) << 16)
              | (Long.parseLong(base[2]) << 8)
              | Long.parseLong(base[3]);
      for (long i = 0; i < n; i++) {
        long a = start + i;
        vips.add((a >> 24 & 255) + "." + (a >> 16 & 255) + "." + (a >> 8 & 255) + "." + (a & 255));
      }
    }
    return vips;
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + args[i]);
      }
      String k = args[i].substring(2);
      if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
        m.put(k, args[++i]);
      } else {
        m.put(k, "");
      }
    }
    return m;
  }

  private static String require(Map<String, String> opts, String key) {
    String v = opts.get(key);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("--" + key + " is required");
    }
    return v;
  }

  /**
   * The listener: one JSON object per line (renewals: one line per heartbeat). Lines carry the time
   * of the call; output is flushed every few milliseconds, not per line, so thousands of events do
   * not slow the elector's event thread.
   */
  private static final class JsonLines implements ElectionListener {
    private final PrintStream out;
    private final boolean ownerEvents;

    JsonLines(PrintStream out, boolean ownerEvents) {
      this.out = out;
      this.ownerEvents = ownerEvents;
      Thread.ofPlatform()
          .daemon()
          .name("elector-main-flush")
          .start(
              () -> {
                while (true) {
                  try {
                    Thread.sleep(5);
                  } catch (InterruptedException e) {
                    return;
                  }
                  flush();
                }
              });
    }

    synchronized void line(String s) {
      out.println(s);
    }

    synchronized void flush() {
      out.flush();
    }

    @Override
    public void acquired(String vip, long deadline) {
      line(
          "{\"ev\":\"acquired\",\"t\":"
              + System.nanoTime()
              + ",\"vip\":\""
              + vip
              + "\",\"deadline\":"
              + deadline
              + "}");
    }

    @Override
    public void renewed(String vip, long deadline) {
      renewedAll(Set.of(vip), deadline);
    }

    @Override
    public void renewedAll(Set<String> vips, long deadline) {
      line(
          "{\"ev\":\"renewed\",\"t\":"
              + System.nanoTime()
              + ",\"n\":"
              + vips.size()
              + ",\"deadline\":"
              + deadline
              + "}");
    }

    @Override
    public void lost(String vip) {
      lost(vip, LossReason.TAKEN);
    }

    @Override
    public void lost(String vip, LossReason reason) {
      line(
          "{\"ev\":\"lost\",\"t\":"
              + System.nanoTime()
              + ",\"vip\":\""
              + vip
              + "\",\"reason\":\""
              + reason
              + "\"}");
    }

    @Override
    public void ownerChanged(String vip, Optional<String> node) {
      if (ownerEvents) {
        line(
            "{\"ev\":\"owner\",\"t\":"
                + System.nanoTime()
                + ",\"vip\":\""
                + vip
                + "\",\"node\":\""
                + node.orElse("")
                + "\"}");
      }
    }
  }
}
