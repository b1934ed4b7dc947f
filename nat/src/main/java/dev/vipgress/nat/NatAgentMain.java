package dev.vipgress.nat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A stand-alone holder of one node's egress datapath, for the lab and for debugging: it applies the
 * desired state in a {@link DesiredStateText} file whenever the file changes, and otherwise keeps
 * re-arming the owned VIPs' deadlines ({@code now + ttl}) every {@code ttl / 4}. It looks at the
 * file every 20 ms. The lab tests kill and freeze this process to show the kernel state expires by
 * itself.
 *
 * <p>Usage: {@code NatAgentMain --state FILE [--uplink eth0] [--ttl-ms 2000] [--no-guard]
 * [--no-conntrack-cleanup] [--table vipgress] [--fwmark-mask 0x00ff0000] [--route-table-base 7600]
 * [--rule-priority 7600] [--hand-over-on-exit] [--vxlan-local IPV4] [--vxlan-device NAME]
 * [--vxlan-vni N] [--vxlan-port N] [--vxlan-mtu N] [--no-mss-clamp]}. Prints {@code applied
 * <generation>} after every successful apply. SIGTERM removes everything unless {@code
 * --hand-over-on-exit}.
 */
public final class NatAgentMain {
  private NatAgentMain() {}

  public static void main(String[] args) throws Exception {
    Path state = null;
    List<String> uplinks = new ArrayList<>();
    long ttlMs = 2000;
    boolean handOver = false;
    NatConfig.Builder b = NatConfig.builder();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--state" -> state = Path.of(args[++i]);
        case "--uplink" -> uplinks.add(args[++i]);
        case "--ttl-ms" -> ttlMs = Long.parseLong(args[++i]);
        case "--no-guard" -> b.guard(false);
        case "--no-conntrack-cleanup" -> b.conntrackCleanup(false);
        case "--table" -> b.table(args[++i]);
        case "--fwmark-mask" -> b.fwmarkMask(Integer.decode(args[++i]));
        case "--route-table-base" -> b.routeTableBase(Integer.parseInt(args[++i]));
        case "--rule-priority" -> b.rulePriority(Integer.parseInt(args[++i]));
        case "--hand-over-on-exit" -> handOver = true;
        case "--vxlan-local" -> b.vxlanLocal(Addresses.parse(args[++i]));
        case "--vxlan-device" -> b.vxlanDevice(args[++i]);
        case "--vxlan-vni" -> b.vxlanVni(Integer.parseInt(args[++i]));
        case "--vxlan-port" -> b.vxlanPort(Integer.parseInt(args[++i]));
        case "--vxlan-mtu" -> b.vxlanMtu(Integer.parseInt(args[++i]));
        case "--no-mss-clamp" -> b.mssClamp(false);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (state == null) {
      throw new IllegalArgumentException("--state FILE is required");
    }
    NatConfig config = b.uplinks(uplinks.isEmpty() ? List.of("eth0") : uplinks).build();
    NftBackend backend = new NftBackend(config);
    backend.start();
    final boolean keep = handOver;
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> backend.close(keep), "nat-agent-shutdown"));

    String applied = null;
    long period = Math.max(50, ttlMs / 4) * 1_000_000L;
    long refreshed = System.nanoTime();
    while (true) {
      String text = read(state);
      long now = System.nanoTime();
      long deadline = now + Duration.ofMillis(ttlMs).toNanos();
      try {
        DesiredStateText d = DesiredStateText.parse(text, deadline);
        if (!text.equals(applied)) {
          backend.apply(d.desired());
          applied = text;
          refreshed = now;
          System.out.println("applied " + d.generation());
          System.out.flush();
        } else if (now - refreshed >= period) {
          backend.refresh(d.desired());
          refreshed = now;
        }
      } catch (NatException | IllegalArgumentException e) {
        System.out.println("error " + e.getMessage().replace('\n', ' '));
        System.out.flush();
        applied = null;
      }
      Thread.sleep(20);
    }
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }
}
