package dev.vipgress.nat;

import dev.vipgress.nat.CommandRunner.Result;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's kernel as {@code nft}, {@code ip} and {@code bridge} show and change it: reads parsed
 * into the pure views, batches run so a refused line costs only itself. No decisions here.
 */
final class KernelTools {
  private static final Logger LOG = LoggerFactory.getLogger(KernelTools.class);

  private final NatConfig config;
  private final CommandRunner runner;
  private final SteeringRoutes routes;
  private final VxlanTunnel tunnel;

  KernelTools(NatConfig config, CommandRunner runner) {
    this.config = config;
    this.runner = runner;
    this.routes = new SteeringRoutes(config);
    this.tunnel = new VxlanTunnel(config);
  }

  Result nft(List<String> script) {
    return runner.run(
        List.of(config.nft(), "-f", "-"),
        String.join("\n", script) + "\n",
        config.commandTimeout());
  }

  /** An nft script rendered only once {@code nft} is running (see {@link CommandRunner}). */
  Result nft(Supplier<List<String>> script) {
    return runner.run(
        List.of(config.nft(), "-f", "-"),
        () -> String.join("\n", script.get()) + "\n",
        config.commandTimeout());
  }

  NftListing readTable() {
    Result r =
        runner.run(
            List.of(config.nft(), "-j", "list", "table", "inet", config.table()),
            "",
            config.commandTimeout());
    if (!r.ok()) {
      if (r.stderr().contains("No such file or directory")) {
        return NftListing.absent();
      }
      throw new NatException("nft list failed: " + r.stderr().strip());
    }
    try {
      return NftListing.parse(r.stdout(), config.table());
    } catch (IllegalArgumentException e) {
      throw new NatException("cannot parse nft JSON: " + e.getMessage(), e);
    }
  }

  Map<Family, SteeringRoutes.View> readRoutes() {
    Map<Family, SteeringRoutes.View> m = new EnumMap<>(Family.class);
    for (Family f : Family.values()) {
      Result rt = show(List.of(config.ip(), "-j", f.ipFlag, "route", "show", "table", "all"));
      Result ru = show(List.of(config.ip(), "-j", f.ipFlag, "rule", "show"));
      if (!rt.ok() || !ru.ok()) {
        throw new NatException("ip route/rule show failed: " + rt.stderr() + ru.stderr());
      }
      m.put(f, routes.parse(rt.stdout(), ru.stdout()));
    }
    return m;
  }

  /** Every address on the node's interfaces (a next hop among them would route to itself). */
  Set<InetAddress> readAddresses() {
    Result r = show(List.of(config.ip(), "-j", "addr", "show"));
    if (!r.ok()) {
      throw new NatException("ip addr show failed: " + r.stderr().strip());
    }
    Set<InetAddress> out = new HashSet<>();
    for (Object o : Json.list(r.stdout())) {
      if (o instanceof Map<?, ?> link && link.get("addr_info") instanceof List<?> infos) {
        for (Object i : infos) {
          if (i instanceof Map<?, ?> a && a.get("local") instanceof String s) {
            try {
              out.add(Addresses.parse(s));
            } catch (IllegalArgumentException e) {
              // a scoped (link-local) address: never a next hop of ours
            }
          }
        }
      }
    }
    return out;
  }

  VxlanTunnel.View readTunnel() {
    Result f = show(List.of(config.bridge(), "-j", "fdb", "show", "dev", config.vxlanDevice()));
    Result n = show(List.of(config.ip(), "-j", "neigh", "show", "dev", config.vxlanDevice()));
    if (!f.ok() || !n.ok()) {
      throw new NatException("bridge fdb / ip neigh show failed: " + f.stderr() + n.stderr());
    }
    return VxlanTunnel.parse(f.stdout(), n.stdout());
  }

  /** {@code ip -force -batch -} per family; the lines refused. */
  List<ApplyResult.Refused> ipBatch(Map<Family, List<String>> lines) {
    List<ApplyResult.Refused> out = new ArrayList<>();
    for (Map.Entry<Family, List<String>> e : lines.entrySet()) {
      out.addAll(batch(List.of(config.ip(), e.getKey().ipFlag), e.getValue()));
    }
    return out;
  }

  List<ApplyResult.Refused> neighBatch(List<String> lines) {
    return batch(List.of(config.ip()), lines);
  }

  List<ApplyResult.Refused> bridgeBatch(List<String> lines) {
    return batch(List.of(config.bridge()), lines);
  }

  private List<ApplyResult.Refused> batch(List<String> tool, List<String> lines) {
    if (lines.isEmpty()) {
      return List.of();
    }
    List<String> argv = new ArrayList<>(tool);
    argv.addAll(List.of("-force", "-batch", "-"));
    Result r = runner.run(argv, String.join("\n", lines) + "\n", config.commandTimeout());
    List<ApplyResult.Refused> refused = IpBatch.refused(lines, r);
    for (ApplyResult.Refused x : refused) {
      LOG.atWarn()
          .addKeyValue("tool", tool.get(0))
          .addKeyValue("line", x.element())
          .addKeyValue("error", x.reason())
          .log("natLineRefused");
    }
    return refused;
  }

  // --- the VXLAN device
  // ---------------------------------------------------------------------------

  /** Creates (or repairs) the VXLAN device, with rp_filter=2 on it; whether it changed it. */
  boolean ensureDevice() {
    List<String> lines = tunnel.ensure(readDevice());
    boolean changed = false;
    if (!lines.isEmpty()) {
      Result r =
          runner.run(
              List.of(config.ip(), "-batch", "-"),
              String.join("\n", lines) + "\n",
              config.commandTimeout());
      if (!r.ok()) {
        throw new NatException.TunnelUnavailable(vxlanError(r.stderr().strip()));
      }
      LOG.atInfo()
          .addKeyValue("name", config.vxlanDevice())
          .addKeyValue("changes", lines)
          .log("vxlanDevice");
      changed = true;
    }
    if (config.manageSysctls()) {
      Sysctls.set(config.sysctlRoot(), "net/ipv4/conf/" + config.vxlanDevice() + "/rp_filter", "2");
    }
    return changed;
  }

  private String vxlanError(String stderr) {
    String hint;
    if (stderr.contains("Unknown device type") || stderr.contains("not supported")) {
      hint =
          " The kernel has no VXLAN support: load the `vxlan` module (`modprobe vxlan`; on some"
              + " distributions it ships in linux-modules-extra-$(uname -r)), or leave"
              + " NatConfig.vxlanLocal unset to run without steering across L2 segments.";
    } else if (stderr.contains("exists") || stderr.contains("in use")) {
      hint =
          " Another VXLAN device already uses VNI "
              + config.vxlanVni()
              + " on UDP port "
              + config.vxlanPort()
              + " (a CNI?): choose another vxlanVni or vxlanPort, the same on every node.";
    } else {
      hint = "";
    }
    return "cannot set up the VXLAN device "
        + config.vxlanDevice()
        + " (VNI "
        + config.vxlanVni()
        + ", UDP port "
        + config.vxlanPort()
        + "): "
        + stderr
        + "."
        + hint;
  }

  /** Deletes our VXLAN device if there is one (a stale one, or on shutdown). */
  void removeDevice() {
    VxlanTunnel.Device d = readDevice();
    if (d.present() && "vxlan".equals(d.kind())) {
      Result r =
          runner.run(
              List.of(config.ip(), "link", "del", config.vxlanDevice()),
              "",
              config.commandTimeout());
      if (!r.ok()) {
        throw new NatException(
            "cannot delete VXLAN device " + config.vxlanDevice() + ": " + r.stderr().strip());
      }
      LOG.atInfo().addKeyValue("name", config.vxlanDevice()).log("vxlanDeviceRemoved");
    }
  }

  private VxlanTunnel.Device readDevice() {
    Result l = show(List.of(config.ip(), "-j", "-d", "link", "show", "dev", config.vxlanDevice()));
    if (!l.ok()) {
      if (l.stderr().contains("does not exist")) {
        return VxlanTunnel.Device.absent();
      }
      throw new NatException("ip link show failed: " + l.stderr().strip());
    }
    Result a = show(List.of(config.ip(), "-j", "-4", "addr", "show", "dev", config.vxlanDevice()));
    return VxlanTunnel.parseDevice(l.stdout(), a.ok() ? a.stdout() : "");
  }

  /** Runs {@code argv}; throws naming the package to reinstall if it fails. */
  void checkTool(List<String> argv) {
    Result r = show(argv);
    if (!r.ok()) {
      String tool = argv.get(0);
      throw new NatException(
          "`"
              + String.join(" ", argv)
              + "` failed ("
              + r.stderr().strip()
              + "); reinstall with `apt-get install "
              + ProcessCommandRunner.packageOf(tool)
              + "`");
    }
  }

  private Result show(List<String> argv) {
    return runner.run(argv, "", config.commandTimeout());
  }
}
