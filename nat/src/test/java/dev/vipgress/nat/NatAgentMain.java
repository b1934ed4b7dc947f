package dev.vipgress.nat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A lab tool (not part of the daemon): a stand-alone holder of one node's egress datapath. It
 * applies the desired state in a {@link DesiredStateText} file whenever the file changes, or the
 * kernel's links or routes change under it ({@link NftBackend#watchKernel}), and otherwise keeps
 * re-arming the owned VIPs' deadlines ({@code now + ttl}) every {@code ttl / 4}. It looks at the
 * file every 20 ms. The lab tests kill and freeze this process to show the kernel state expires by
 * itself. Prints {@code applied <generation>} after every successful apply (and {@code refused
 * <element>: <why>} for each element left out). SIGTERM removes everything unless {@code
 * --hand-over-on-exit}.
 */
@Command(name = "nat-agent", mixinStandardHelpOptions = true)
public final class NatAgentMain implements Callable<Integer> {
  @Option(names = "--state", required = true, description = "the desired-state file")
  Path state;

  @Option(names = "--uplink", description = "uplink interface (repeatable; default eth0)")
  List<String> uplinks = List.of("eth0");

  @Option(names = "--ttl-ms", description = "deadline of the owned VIPs from each refresh")
  long ttlMs = 2000;

  @Option(names = "--no-guard")
  boolean noGuard;

  @Option(names = "--no-conntrack-cleanup")
  boolean noConntrackCleanup;

  @Option(names = "--table")
  String table = "vipgress";

  @Option(names = "--fwmark-mask", converter = Decoded.class)
  int fwmarkMask = 0x00ff0000;

  @Option(names = "--route-table-base")
  int routeTableBase = 7600;

  @Option(names = "--rule-priority")
  int rulePriority = 7600;

  @Option(names = "--hand-over-on-exit")
  boolean handOver;

  @Option(names = "--vxlan-local", description = "this node's underlay IPv4 (enables VXLAN)")
  String vxlanLocal;

  @Option(names = "--vxlan-device")
  String vxlanDevice = NatConfig.Builder.DEFAULT_VXLAN_DEVICE;

  @Option(names = "--vxlan-vni")
  int vxlanVni = NatConfig.Builder.DEFAULT_VXLAN_VNI;

  @Option(names = "--vxlan-port")
  int vxlanPort = NatConfig.Builder.DEFAULT_VXLAN_PORT;

  @Option(names = "--vxlan-mtu")
  int vxlanMtu = 1450;

  @Option(names = "--no-mss-clamp")
  boolean noMssClamp;

  /** {@code 0x...} or decimal. */
  static final class Decoded implements CommandLine.ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return Integer.decode(value);
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new NatAgentMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    NatConfig.Builder b =
        NatConfig.builder()
            .uplinks(uplinks)
            .guard(!noGuard)
            .conntrackCleanup(!noConntrackCleanup)
            .table(table)
            .fwmarkMask(fwmarkMask)
            .routeTableBase(routeTableBase)
            .rulePriority(rulePriority)
            .vxlanDevice(vxlanDevice)
            .vxlanVni(vxlanVni)
            .vxlanPort(vxlanPort)
            .vxlanMtu(vxlanMtu)
            .mssClamp(!noMssClamp);
    if (vxlanLocal != null) {
      b.vxlanLocal(Addresses.parse(vxlanLocal));
    }
    NftBackend backend = new NftBackend(b.build());
    backend.start();
    AtomicBoolean kernelChanged = new AtomicBoolean();
    CommandRunner.Watch watch = backend.watchKernel(() -> kernelChanged.set(true));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  watch.close();
                  backend.close(handOver);
                },
                "nat-agent-shutdown"));

    String applied = null;
    long period = Math.max(50, ttlMs / 4) * 1_000_000L;
    long refreshed = System.nanoTime();
    while (true) {
      String text = Files.exists(state) ? Files.readString(state, StandardCharsets.UTF_8) : "";
      long now = System.nanoTime();
      long deadline = now + Duration.ofMillis(ttlMs).toNanos();
      try {
        DesiredStateText d = DesiredStateText.parse(text, deadline);
        if (!text.equals(applied) || kernelChanged.getAndSet(false)) {
          ApplyResult r = backend.apply(d.desired());
          applied = text;
          refreshed = now;
          for (ApplyResult.Refused x : r.refused()) {
            print("refused " + x);
          }
          print("applied " + d.generation());
        } else if (now - refreshed >= period) {
          backend.refresh(d.desired());
          refreshed = now;
        }
      } catch (NatException | IllegalArgumentException e) {
        print("error " + e.getMessage().replace('\n', ' '));
        applied = null;
      }
      Thread.sleep(20);
    }
  }

  private static void print(String line) throws IOException {
    System.out.println(line);
    System.out.flush();
  }
}
