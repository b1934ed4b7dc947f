package dev.vipgress.nat;

import dev.vipgress.nat.CommandRunner.Result;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Programs one node's egress datapath: the {@code inet} table through {@code nft -f -} (one atomic
 * transaction per {@link #apply}), steering rules and routes through {@code ip -batch -}, and
 * conntrack clean-up through {@code conntrack -D}.
 *
 * <p>Not thread-safe: one thread (the reconciler) owns it. {@link #apply} is level-triggered: it
 * diffs the desired state against the kernel (re-read on the first apply, after any failure and at
 * least every {@link NatConfig#resyncInterval()}; in between against what the last successful
 * transaction left). A failed transaction changes nothing; {@code apply} retries it {@link
 * NatConfig#attempts()} times with doubling backoff, the last time rebuilding the table from
 * scratch (still in one transaction), then throws {@link NatException}: the caller retries later
 * with its own backoff.
 */
public final class NftBackend implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NftBackend.class);

  private final NatConfig config;
  private final CommandRunner runner;
  private final LongSupplier nanoClock;
  private final NftRenderer renderer;
  private final SteeringRoutes routes;
  private final VxlanTunnel tunnel;

  private Map<String, Integer> slots = new TreeMap<>();
  private NftListing listing;
  private Map<Family, SteeringRoutes.View> routeView;
  private VxlanTunnel.View tunnelView;
  private long syncedAtNanos;
  private List<String> lastConflicts = List.of();
  private boolean started;
  private boolean closed;

  public NftBackend(NatConfig config) {
    this(config, new ProcessCommandRunner(), System::nanoTime);
  }

  /** For tests: a fake runner and clock. */
  NftBackend(NatConfig config, CommandRunner runner, LongSupplier nanoClock) {
    this.config = config;
    this.runner = runner;
    this.nanoClock = nanoClock;
    this.renderer = new NftRenderer(config);
    this.routes = new SteeringRoutes(config);
    this.tunnel = new VxlanTunnel(config);
  }

  public NatConfig config() {
    return config;
  }

  /**
   * Checks the tools and kernel, sets the sysctls and makes sure the table has the current
   * structure. Elements, rules and routes of ours already in the kernel stay (a predecessor that
   * handed over keeps the datapath running); the first {@link #apply} removes whatever is not
   * desired.
   *
   * @throws NatException.MissingTool naming the binary and its package
   */
  public void start() {
    checkTool(List.of(config.nft(), "--version"));
    checkTool(List.of(config.ip(), "-V"));
    checkTool(List.of(config.conntrack(), "--version"));
    if (config.vxlan()) {
      checkTool(List.of(config.bridge(), "-V"));
    }
    if (config.manageSysctls()) {
      new Sysctls(config.sysctlRoot(), config.uplinks()).apply();
    }
    if (config.vxlan()) {
      ensureDevice();
    } else {
      removeDevice();
    }
    NftListing l = readTable();
    if (l.state().present() && l.matches(renderer)) {
      log.info("natStart table={} elements={} structure=current", config.table(), l.state().size());
    } else {
      List<String> script = new ArrayList<>();
      if (l.state().present()) {
        // an older structure: rebuild it in one transaction, carrying the elements over
        script.addAll(renderer.delete());
      }
      script.addAll(renderer.structure());
      script.addAll(renderer.elements(TableState.empty(), l.state(), 0));
      Result r = nft(script);
      if (!r.ok()) {
        throw new NatException(
            "cannot create nftables table inet "
                + config.table()
                + " (does the kernel have nf_tables with nat, set timeouts and concatenated"
                + " intervals? Linux >= 5.6 with nf_tables, nft_nat, nft_ct, nft_set_pipapo): "
                + r.stderr().strip());
      }
      log.info(
          "natStart table={} elements={} structure={}",
          config.table(),
          l.state().size(),
          l.state().present() ? "rebuilt" : "created");
    }
    listing = null;
    started = true;
  }

  /**
   * Makes the kernel match {@code desired}: one nft transaction for the table (owned VIPs re-armed
   * to their deadlines), steering routes around it, then conntrack clean-up for the VIPs newly
   * owned or released.
   *
   * @throws NatException when every attempt failed; the previous datapath is still in place
   */
  public void apply(NodeDesired desired) {
    ensureOpen();
    NatException last = null;
    long backoff = config.retryBackoff().toMillis();
    for (int attempt = 1; attempt <= config.attempts(); attempt++) {
      try {
        applyOnce(desired, attempt > 1 && attempt == config.attempts());
        return;
      } catch (NatException e) {
        last = e;
        listing = null;
        routeView = null;
        tunnelView = null;
        log.warn(
            "natApplyFailed attempt={} of={} error={}", attempt, config.attempts(), e.getMessage());
        if (attempt < config.attempts()) {
          sleep(backoff);
          backoff *= 2;
        }
      }
    }
    throw last;
  }

  private void applyOnce(NodeDesired desired, boolean rebuild) {
    long t0 = nanoClock.getAsLong();
    sync(false);
    Map<Integer, Set<java.net.InetAddress>> kernelHops = new TreeMap<>();
    for (SteeringRoutes.View v : routeView.values()) {
      v.nextHops(config)
          .forEach((k, s) -> kernelHops.computeIfAbsent(k, x -> new HashSet<>()).addAll(s));
    }
    Map<String, Integer> newSlots = NatPlan.assignSlots(desired, config, slots, kernelHops);
    NatPlan plan = NatPlan.of(desired, config, newSlots);
    if (!plan.conflicts().equals(lastConflicts)) {
      for (String c : plan.conflicts()) {
        log.warn("natConflict detail=\"{}\"", c);
      }
      lastConflicts = plan.conflicts();
    }

    TableState before = listing.state();
    List<String> script = new ArrayList<>();
    TableState from = before;
    if (rebuild) {
      if (before.present()) {
        script.addAll(renderer.delete());
      }
      script.addAll(renderer.structure());
      from = TableState.empty();
    } else if (!listing.matches(renderer)) {
      script.addAll(renderer.structure());
    }

    Map<Family, SteeringRoutes.View> wantRoutes = new EnumMap<>(Family.class);
    for (Family f : Family.values()) {
      wantRoutes.put(f, routes.desired(plan, f));
    }
    SteeringRoutes.Diff rd = routes.diff(routeView, wantRoutes);
    VxlanTunnel.View wantTunnel = config.vxlan() ? tunnel.desired(plan) : VxlanTunnel.View.empty();
    VxlanTunnel.Diff td = tunnel.diff(tunnelView, wantTunnel);
    bridgeBatch(td.fdbBefore());
    neighBatch(td.neighBefore());
    ipBatch(rd.before());

    Map<String, Long> timeouts = timeouts(plan.deadlines());
    Set<String> live = live(timeouts);
    long heartbeat = heartbeatMs(timeouts);
    TableState want = plan.table().withOwned(live);
    script.addAll(renderer.elements(from, want, heartbeat));
    Result r = nft(script);
    if (!r.ok()) {
      throw new NatException("nft transaction failed: " + r.stderr().strip());
    }
    listing =
        new NftListing(
            want.withAlive(alive(heartbeat)),
            listing.sets().isEmpty() || rebuild ? allNames() : listing.sets(),
            renderer.ruleCounts(),
            Set.of("fence; " + renderer.fingerprint()));
    slots = newSlots;

    ipBatch(rd.after());
    routeView = wantRoutes;
    neighBatch(td.neighAfter());
    bridgeBatch(td.fdbAfter());
    tunnelView = wantTunnel;

    int cleaned =
        config.conntrackCleanup()
            ? cleanConntrack(ConntrackCleanup.commands(before, plan.table()))
            : 0;
    log.info(
        "natApplied vips={} live={} snat={} steered={} slots={} conntrackRuns={} ms={}",
        plan.table().vips().size(),
        live.size(),
        plan.table().get("snat4").size()
            + plan.table().get("snat6").size()
            + plan.table().get("snat4s").size()
            + plan.table().get("snat6s").size(),
        plan.table().get("steer4").size()
            + plan.table().get("steer6").size()
            + plan.table().get("steer4s").size()
            + plan.table().get("steer6s").size(),
        newSlots.size(),
        cleaned,
        (nanoClock.getAsLong() - t0) / 1_000_000);
  }

  /**
   * Re-arms the heartbeat to the earliest (new) deadline of the live owned VIPs, and fences VIPs
   * whose own deadline has passed; nothing else. Cheap: one small nft transaction whatever the
   * number of VIPs, no read-back. VIPs the last {@link #apply} did not install are ignored (they
   * need an apply).
   *
   * @throws NatException if the transaction failed (the old expiry stays; try again or apply)
   */
  public void refresh(NodeDesired desired) {
    ensureOpen();
    if (listing == null) {
      apply(desired);
      return;
    }
    Map<String, Long> deadlines = new TreeMap<>();
    TableState cur = listing.state();
    Set<String> installed = cur.vips();
    for (OwnedVip o : desired.owned()) {
      String v = Addresses.format(o.vip());
      if (installed.contains(v)) {
        deadlines.put(v, o.deadlineNanos());
      }
    }
    Map<String, Long> timeouts = timeouts(deadlines);
    long heartbeat = heartbeatMs(timeouts);
    TableState want = cur.withOwned(live(timeouts));
    Result r = nft(renderer.elements(cur, want, heartbeat));
    if (!r.ok()) {
      listing = null;
      throw new NatException("nft refresh failed: " + r.stderr().strip());
    }
    listing =
        new NftListing(
            want.withAlive(alive(heartbeat)),
            listing.sets(),
            listing.ruleCounts(),
            listing.comments());
  }

  /**
   * Removes the table, our rules and routes, and the SNAT bindings of the VIPs this node owned —
   * unless {@code handingOver}, in which case everything stays for the successor process (owned
   * VIPs still expire at their deadlines).
   */
  public void close(boolean handingOver) {
    if (closed) {
      return;
    }
    closed = true;
    if (handingOver || !started) {
      // the heartbeat still lapses at the earliest deadline: a successor must refresh it
      log.info("natClosed handingOver={}", handingOver);
      return;
    }
    NftListing l = readTable();
    if (l.state().present()) {
      Result r = nft(renderer.delete());
      if (!r.ok()) {
        log.warn("natCloseFailed what=table error={}", r.stderr().strip());
      }
    }
    Map<Family, SteeringRoutes.View> cur = readRoutes();
    try {
      ipBatch(routes.removeAll(cur));
    } catch (NatException e) {
      log.warn("natCloseFailed what=routes error={}", e.getMessage());
    }
    try {
      removeDevice();
    } catch (NatException e) {
      log.warn("natCloseFailed what=vxlan error={}", e.getMessage());
    }
    if (config.conntrackCleanup()) {
      cleanConntrack(ConntrackCleanup.releaseAll(l.state()));
    }
    log.info("natClosed handingOver=false");
  }

  @Override
  public void close() {
    close(false);
  }

  /** Forces the next apply to re-read the kernel. */
  public void invalidate() {
    listing = null;
    routeView = null;
    tunnelView = null;
  }

  /** The owner node → slot assignment in force (for status and tests). */
  public Map<String, Integer> slots() {
    return Map.copyOf(slots);
  }

  /**
   * Runs the clean-up commands that would delete something; returns how many ran. Failures are
   * logged, not thrown: the table is already in its new state.
   */
  private int cleanConntrack(List<List<String>> cmds) {
    int ran = 0;
    for (Family f : Family.values()) {
      List<List<String>> mine = cmds.stream().filter(c -> c.get(2).equals(f.name)).toList();
      if (mine.isEmpty()) {
        continue;
      }
      if (mine.size() > 4) {
        Result list =
            runner.run(
                List.of(config.conntrack(), "-L", "-f", f.name), "", config.commandTimeout());
        if (list.ok()) {
          mine = ConntrackCleanup.present(mine, f, list.stdout());
        }
      }
      for (List<String> args : mine) {
        List<String> argv = new ArrayList<>();
        argv.add(config.conntrack());
        argv.addAll(args);
        Result c = runner.run(argv, "", config.commandTimeout());
        if (!ConntrackCleanup.ok(c)) {
          log.warn("conntrackCleanupFailed args={} error={}", args, c.stderr().strip());
        }
        ran++;
      }
    }
    return ran;
  }

  // ---------------------------------------------------------------------------------------------

  private void sync(boolean force) {
    long now = nanoClock.getAsLong();
    if (!force
        && listing != null
        && routeView != null
        && tunnelView != null
        && now - syncedAtNanos < config.resyncInterval().toNanos()) {
      return;
    }
    listing = readTable();
    if (config.vxlan()) {
      // someone may have deleted or changed the device (and with it our routes through it)
      ensureDevice();
      tunnelView = readTunnel();
    } else {
      tunnelView = VxlanTunnel.View.empty();
    }
    routeView = readRoutes();
    syncedAtNanos = now;
  }

  /** Creates (or repairs) the VXLAN device, with rp_filter=2 on it. */
  private void ensureDevice() {
    List<String> lines = tunnel.ensure(readDevice());
    if (!lines.isEmpty()) {
      Result r =
          runner.run(
              List.of(config.ip(), "-batch", "-"),
              String.join("\n", lines) + "\n",
              config.commandTimeout());
      if (!r.ok()) {
        throw new NatException.TunnelUnavailable(vxlanError(r.stderr().strip()));
      }
      log.info("vxlanDevice name={} changes={}", config.vxlanDevice(), lines);
      // a replaced device took its FDB, neighbours and our routes through it along
      tunnelView = null;
      routeView = null;
    }
    if (config.manageSysctls()) {
      Sysctls.set(config.sysctlRoot(), "net/ipv4/conf/" + config.vxlanDevice() + "/rp_filter", "2");
    }
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
  private void removeDevice() {
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
      log.info("vxlanDeviceRemoved name={}", config.vxlanDevice());
    }
  }

  private VxlanTunnel.Device readDevice() {
    Result l =
        runner.run(
            List.of(config.ip(), "-j", "-d", "link", "show", "dev", config.vxlanDevice()),
            "",
            config.commandTimeout());
    if (!l.ok()) {
      if (l.stderr().contains("does not exist")) {
        return VxlanTunnel.Device.absent();
      }
      throw new NatException("ip link show failed: " + l.stderr().strip());
    }
    Result a =
        runner.run(
            List.of(config.ip(), "-j", "-4", "addr", "show", "dev", config.vxlanDevice()),
            "",
            config.commandTimeout());
    return VxlanTunnel.parseDevice(l.stdout(), a.ok() ? a.stdout() : "");
  }

  private VxlanTunnel.View readTunnel() {
    Result f =
        runner.run(
            List.of(config.bridge(), "-j", "fdb", "show", "dev", config.vxlanDevice()),
            "",
            config.commandTimeout());
    Result n =
        runner.run(
            List.of(config.ip(), "-j", "neigh", "show", "dev", config.vxlanDevice()),
            "",
            config.commandTimeout());
    if (!f.ok() || !n.ok()) {
      throw new NatException("bridge fdb / ip neigh show failed: " + f.stderr() + n.stderr());
    }
    return VxlanTunnel.parse(f.stdout(), n.stdout());
  }

  private void bridgeBatch(List<String> lines) {
    batch(config.bridge(), lines, "bridge -batch (FDB)");
  }

  private void neighBatch(List<String> lines) {
    batch(config.ip(), lines, "ip -batch (neighbours)");
  }

  /** Runs {@code tool -batch -} over {@code lines}; nothing if there are none. */
  private void batch(String tool, List<String> lines, String what) {
    if (lines.isEmpty()) {
      return;
    }
    Result r =
        runner.run(
            List.of(tool, "-batch", "-"), String.join("\n", lines) + "\n", config.commandTimeout());
    if (!r.ok()) {
      throw new NatException(what + " failed: " + r.stderr().strip() + " in " + lines);
    }
  }

  private NftListing readTable() {
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

  private Map<Family, SteeringRoutes.View> readRoutes() {
    Map<Family, SteeringRoutes.View> m = new EnumMap<>(Family.class);
    for (Family f : Family.values()) {
      Result rt =
          runner.run(
              List.of(config.ip(), "-j", f.ipFlag, "route", "show", "table", "all"),
              "",
              config.commandTimeout());
      Result ru =
          runner.run(
              List.of(config.ip(), "-j", f.ipFlag, "rule", "show"), "", config.commandTimeout());
      if (!rt.ok() || !ru.ok()) {
        throw new NatException("ip route/rule show failed: " + rt.stderr() + ru.stderr());
      }
      m.put(f, routes.parse(rt.stdout(), ru.stdout()));
    }
    return m;
  }

  private void ipBatch(Map<Family, List<String>> lines) {
    for (Map.Entry<Family, List<String>> e : lines.entrySet()) {
      if (e.getValue().isEmpty()) {
        continue;
      }
      Result r =
          runner.run(
              List.of(config.ip(), e.getKey().ipFlag, "-batch", "-"),
              String.join("\n", e.getValue()) + "\n",
              config.commandTimeout());
      if (!r.ok()) {
        throw new NatException("ip -batch failed: " + r.stderr().strip() + " in " + e.getValue());
      }
    }
  }

  private Result nft(List<String> script) {
    return runner.run(
        List.of(config.nft(), "-f", "-"),
        String.join("\n", script) + "\n",
        config.commandTimeout());
  }

  private Map<String, Long> timeouts(Map<String, Long> deadlines) {
    long now = nanoClock.getAsLong();
    Map<String, Long> m = new TreeMap<>();
    deadlines.forEach(
        (v, d) -> m.put(v, Math.max(0, (d - now) / 1_000_000 - config.fenceMargin().toMillis())));
    return m;
  }

  private static Set<String> live(Map<String, Long> timeouts) {
    Set<String> live = new TreeSet<>();
    timeouts.forEach(
        (v, ms) -> {
          if (ms > 0) {
            live.add(v);
          }
        });
    return live;
  }

  /** The heartbeat lasts until the earliest deadline of the live VIPs; none: no heartbeat. */
  private static long heartbeatMs(Map<String, Long> timeouts) {
    return timeouts.values().stream()
        .filter(ms -> ms > 0)
        .mapToLong(Long::longValue)
        .min()
        .orElse(0);
  }

  private static Set<String> alive(long heartbeatMs) {
    return heartbeatMs > 0 ? Set.of("ipv4", "ipv6") : Set.of();
  }

  private static Set<String> allNames() {
    Set<String> s = new HashSet<>(TableState.TRACKED);
    s.add("alive");
    return s;
  }

  private void checkTool(List<String> argv) {
    Result r = runner.run(argv, "", config.commandTimeout());
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

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("NftBackend is closed");
    }
    if (!started) {
      throw new IllegalStateException("call start() first");
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(Duration.ofMillis(ms));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NatException("interrupted", e);
    }
  }
}
