package dev.vipgress.nat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The nat benchmark ({@code make bench-nat}), run inside the owner node's namespace: apply times
 * for 10k / 50k backend mappings from empty and one change on top of 50k, then pod → ext throughput
 * (iperf3) and new-connection rate ({@link CpsTool}) with 1 VIP versus 10,000 VIPs loaded,
 * interleaved. Prints one JSON line last.
 *
 * <p>Usage: {@code NatBenchMain CLASSPATH POD_NETNS POD_IP EXT_NETNS EXT_IP VIP OWNER_MAC ROUNDS}.
 */
public final class NatBenchMain {
  private NatBenchMain() {}

  private static final String TABLE = "vgnat_bench";

  public static void main(String[] a) throws Exception {
    String cp = a[0];
    String podNs = a[1];
    InetAddress pod = Addresses.parse(a[2]);
    String extNs = a[3];
    String ext = a[4];
    InetAddress vip = Addresses.parse(a[5]);
    String ownerMac = a[6];
    int rounds = Integer.parseInt(a[7]);
    String java = java();

    NatConfig config =
        NatConfig.builder("eth0")
            .table(TABLE)
            .fwmarkMask(0x0f000000)
            .routeTableBase(7800)
            .rulePriority(7800)
            .manageSysctls(false)
            .build();
    List<Process> spawned = new ArrayList<>();
    NftBackend backend = null;
    try {
      // --- apply times ---------------------------------------------------------------------------
      List<Double> t10 = new ArrayList<>();
      List<Double> t50 = new ArrayList<>();
      List<Double> t1 = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        t10.add(fromEmpty(config, desired(vip, pod, 10_000, -1)));
      }
      for (int r = 0; r < 3; r++) {
        t50.add(fromEmpty(config, desired(vip, pod, 50_000, -1)));
      }
      backend = fresh(config);
      backend.apply(desired(vip, pod, 50_000, -1));
      for (int r = 0; r < 5; r++) {
        NftBackend bk = backend;
        NodeDesired changed = desired(vip, pod, 50_000, r % 2 == 0 ? 7 : -1);
        t1.add(time(() -> bk.apply(changed), 1));
      }
      backend.close(false);
      // printed now too: a failed traffic measurement must not lose them
      System.err.printf(
          Locale.ROOT,
          "apply_10k_s=%.3f apply_50k_s=%.3f apply_one_s=%.3f (one change: %s)%n",
          median(t10),
          median(t50),
          median(t1),
          t1);

      // --- traffic -------------------------------------------------------------------------------
      backend = fresh(config);
      NodeDesired one = desired(vip, pod, 1, -1);
      NodeDesired tenK = desired(vip, pod, 10_000, -1);
      backend.apply(one);
      sh(
          "ip",
          "netns",
          "exec",
          extNs,
          "ip",
          "neigh",
          "replace",
          Addresses.format(vip),
          "lladdr",
          ownerMac,
          "dev",
          "eth0",
          "nud",
          "permanent");
      Process iperfServer = spawn("ip", "netns", "exec", extNs, "iperf3", "-s", "-p", "5299");
      spawned.add(iperfServer);
      spawned.add(
          spawn(
              "ip",
              "netns",
              "exec",
              extNs,
              java,
              "-Xmx128m",
              "-cp",
              cp,
              CpsTool.class.getName(),
              "server",
              "5298"));
      Thread.sleep(1500);
      String seen =
          sh("ip", "netns", "exec", podNs, "curl", "-s", "-m", "3", "http://" + ext + ":8080/");
      if (!seen.contains("peer=" + Addresses.format(vip) + ":")) {
        throw new IllegalStateException("the pod does not egress as the VIP: " + seen);
      }
      List<Double> tp1 = new ArrayList<>();
      List<Double> tp10k = new ArrayList<>();
      List<Double> cps1 = new ArrayList<>();
      List<Double> cps10k = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        boolean oneFirst = r % 2 == 0;
        for (int k = 0; k < 2; k++) {
          boolean isOne = (k == 0) == oneFirst;
          backend.apply(isOne ? one : tenK);
          double gbps = 0;
          double cps = 0;
          for (int attempt = 1; ; attempt++) {
            try {
              // the lab is shared: make sure ext still sends the VIP's replies to this node
              sh(
                  "ip",
                  "netns",
                  "exec",
                  extNs,
                  "ip",
                  "neigh",
                  "replace",
                  Addresses.format(vip),
                  "lladdr",
                  ownerMac,
                  "dev",
                  "eth0",
                  "nud",
                  "permanent");
              gbps = iperf(podNs, ext);
              cps = cps(java, cp, podNs, ext);
              break;
            } catch (IllegalStateException e) {
              if (attempt == 3) {
                throw e;
              }
              System.err.println("retrying a measurement: " + e.getMessage());
              if (!iperfServer.isAlive() || e.getMessage().contains("Connection refused")) {
                // the server exited (iperf3 -s does after some client errors): start another
                iperfServer.destroy();
                iperfServer.waitFor(5, TimeUnit.SECONDS);
                iperfServer = spawn("ip", "netns", "exec", extNs, "iperf3", "-s", "-p", "5299");
                spawned.add(iperfServer);
              }
              Thread.sleep(2000);
            }
          }
          (isOne ? tp1 : tp10k).add(gbps);
          (isOne ? cps1 : cps10k).add(cps);
          System.err.printf(
              Locale.ROOT,
              "round %d state=%s tput_gbps=%.2f cps=%.0f%n",
              r,
              isOne ? "1" : "10k",
              gbps,
              cps);
        }
      }
      double mtp1 = median(tp1);
      double mtp10 = median(tp10k);
      double mc1 = median(cps1);
      double mc10 = median(cps10k);
      // the machine is shared: compare each 10k run with the 1-VIP run next to it (ABBA order),
      // then take the median of those paired ratios
      List<Double> tpRatio = new ArrayList<>();
      List<Double> cpsRatio = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        tpRatio.add(tp10k.get(r) / tp1.get(r));
        cpsRatio.add(cps10k.get(r) / cps1.get(r));
      }
      System.err.printf(Locale.ROOT, "paired ratios: tput %s cps %s%n", tpRatio, cpsRatio);
      System.out.printf(
          Locale.ROOT,
          "{\"bench\":\"nat\",\"apply_10k_s\":%.3f,\"apply_50k_s\":%.3f,\"apply_one_s\":%.3f,"
              + "\"tput_gbps_1\":%.2f,\"tput_gbps_10k\":%.2f,\"cps_1\":%.0f,\"cps_10k\":%.0f,"
              + "\"tput_ratio_10k\":%.3f,\"cps_ratio_10k\":%.3f}%n",
          median(t10),
          median(t50),
          median(t1),
          mtp1,
          mtp10,
          mc1,
          mc10,
          median(tpRatio),
          median(cpsRatio));
    } finally {
      for (Process p : spawned) {
        p.destroy();
        p.waitFor(5, TimeUnit.SECONDS);
      }
      if (backend != null) {
        backend.close(false);
      }
      sh("ip", "netns", "exec", extNs, "ss", "-K", "dst", Addresses.format(vip));
      sh("ip", "netns", "exec", extNs, "ip", "neigh", "del", Addresses.format(vip), "dev", "eth0");
    }
  }

  /** The real VIP with the real pod, plus {@code n - 1} other VIPs with one backend each. */
  static NodeDesired desired(InetAddress vip, InetAddress pod, int n, int changed) {
    Set<OwnedVip> owned = new HashSet<>();
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    owned.add(new OwnedVip(vip, Set.of(pod), deadline));
    for (int i = 1; i < n; i++) {
      // VIPs in 100.64/10, pods in 172.16/12: outside every lab range
      InetAddress v = v4(0x64400000 + i);
      InetAddress p = v4(0xac100000 + (i == changed ? n + 1 : i));
      owned.add(new OwnedVip(v, Set.of(p), deadline));
    }
    Set<Cidr> cluster =
        Set.of(
            Cidr.parse("10.244.0.0/16"),
            Cidr.parse("10.96.0.0/16"),
            Cidr.parse("192.168.100.11"),
            Cidr.parse("192.168.100.12"),
            Cidr.parse("192.168.100.13"));
    return new NodeDesired(owned, Map.of(), cluster);
  }

  private static NftBackend fresh(NatConfig config) {
    NftBackend b = new NftBackend(config);
    b.start();
    return b;
  }

  private static double fromEmpty(NatConfig config, NodeDesired d) throws Exception {
    NftBackend b = fresh(config);
    try {
      return time(() -> b.apply(d), 1);
    } finally {
      b.close(false);
    }
  }

  interface Action {
    void run() throws Exception;
  }

  private static double time(Action r, int times) throws Exception {
    long t0 = System.nanoTime();
    for (int i = 0; i < times; i++) {
      r.run();
    }
    return (System.nanoTime() - t0) / 1e9 / Math.max(1, times);
  }

  private static double iperf(String podNs, String ext) throws Exception {
    String out =
        sh("ip", "netns", "exec", podNs, "iperf3", "-c", ext, "-p", "5299", "-t", "3", "-J");
    Matcher m =
        Pattern.compile(
                "\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.e+E]+)")
            .matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("iperf3 printed no sum_received: " + out);
    }
    return Double.parseDouble(m.group(1)) / 1e9;
  }

  private static double cps(String java, String cp, String podNs, String ext) throws Exception {
    String out =
        sh(
            "ip",
            "netns",
            "exec",
            podNs,
            java,
            "-Xmx128m",
            "-cp",
            cp,
            CpsTool.class.getName(),
            "client",
            ext,
            "5298",
            "3000",
            "4");
    Matcher m = Pattern.compile("cps ([0-9.]+)").matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("CpsTool printed nothing: " + out);
    }
    return Double.parseDouble(m.group(1));
  }

  private static double median(List<Double> l) {
    List<Double> s = new ArrayList<>(l);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  private static InetAddress v4(int x) {
    try {
      return InetAddress.getByAddress(
          new byte[] {(byte) (x >>> 24), (byte) (x >>> 16), (byte) (x >>> 8), (byte) x});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String java() {
    return java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static Process spawn(String... cmd) throws IOException {
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectErrorStream(true)
        .start();
  }

  private static String sh(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return out;
  }
}
