package dev.vipgress.nat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Programs one node's egress datapath: the {@code inet} table through {@code nft -f -} (one atomic
 * transaction for the elements per {@link #apply}, then the heartbeat in its own small one; a
 * change of a few elements carries the heartbeat in the same small transaction — either way the
 * heartbeat's expiry is computed once {@code nft} runs, never before a large transaction), steering
 * rules and routes through {@code ip -force -batch -}, and conntrack clean-up through {@code
 * conntrack -D}.
 *
 * <p>Not thread-safe: one thread (the reconciler) owns it. {@link #apply} is level-triggered: it
 * diffs the desired state against the kernel (re-read on the first apply, after any failure or
 * refusal, after {@link #invalidate} and at least every {@link NatConfig#resyncInterval()}; in
 * between against what the last successful transaction left: a mirror of the kernel's elements,
 * updated in place, and only the keys the incremental planner ({@link OwnedElements}) changed are
 * compared and rendered, so one changed mapping on top of 50,000 costs one mapping, one pass over
 * the owned VIPs to find it, and the {@code nft} run). One unusable element costs only itself: it
 * is left out, the rest applied, and the {@link ApplyResult} names it. A transaction that fails as
 * a whole changes nothing; {@code apply} retries it {@link NatConfig#attempts()} times with
 * doubling backoff, the last time rebuilding the table from scratch (still in one transaction),
 * then throws {@link NatException}: the caller retries later with its own backoff.
 */
public final class NftBackend implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NftBackend.class);
  private static final Pattern TABLE = Pattern.compile(" (?:table|lookup) (\\d+)");

  private final NatConfig config;
  private final CommandRunner runner;
  private final LongSupplier nanoClock;
  private final NftRenderer renderer;
  private final SteeringRoutes routes;
  private final VxlanTunnel tunnel;
  private final KernelTools kernel;

  private Map<String, Integer> slots = new TreeMap<>();
  private NftListing listing;
  private final OwnedElements owned = new OwnedElements();

  /** The kernel's elements as last read or written; null: read them again. */
  private KernelElements mirror;

  /**
   * Whether {@link #mirror} is exactly what the last plan's transaction left (no re-read since).
   */
  private boolean mirrorExact;

  private Map<Family, SteeringRoutes.View> routeView;
  private VxlanTunnel.View tunnelView;
  private Set<InetAddress> localAddresses = Set.of();
  private long syncedAtNanos;
  private List<String> lastConflicts = List.of();
  private boolean started;
  private boolean closed;

  /** Set by the kernel watch (another thread) when routes or links changed under us. */
  private final java.util.concurrent.atomic.AtomicBoolean kernelChanged =
      new java.util.concurrent.atomic.AtomicBoolean();

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
    this.kernel = new KernelTools(config, runner);
  }

  public NatConfig config() {
    return config;
  }

  /**
   * Checks the tools and kernel, sets the sysctls and makes sure the table has the current
   * structure. Elements, rules and routes of ours already in the kernel stay (a predecessor that
   * handed over keeps the datapath running, its backends held closed); the first {@link #apply}
   * removes whatever is not desired.
   *
   * @throws NatException.MissingTool naming the binary and its package
   */
  public void start() {
    kernel.checkTool(List.of(config.nft(), "--version"));
    kernel.checkTool(List.of(config.ip(), "-V"));
    kernel.checkTool(List.of(config.conntrack(), "--version"));
    if (config.vxlan()) {
      kernel.checkTool(List.of(config.bridge(), "-V"));
    }
    if (config.manageSysctls()) {
      new Sysctls(config.sysctlRoot(), config.uplinks()).apply();
    }
    if (config.vxlan()) {
      kernel.ensureDevice();
    } else {
      kernel.removeDevice();
    }
    NftListing l = kernel.readTable();
    String how = "current";
    if (!l.state().present() || !l.matches(renderer)) {
      List<String> script = new ArrayList<>();
      if (l.state().present()) {
        // an older structure: rebuild it in one transaction, carrying the elements over
        script.addAll(renderer.delete());
      }
      script.addAll(renderer.structure());
      script.addAll(renderer.elements(TableState.empty(), l.state()));
      CommandRunner.Result r = kernel.nft(script);
      if (!r.ok()) {
        throw new NatException(
            "cannot create nftables table inet "
                + config.table()
                + " (does the kernel have nf_tables with nat, set timeouts and concatenated"
                + " intervals? Linux >= 5.6 with nf_tables, nft_nat, nft_ct, nft_set_pipapo): "
                + r.stderr().strip());
      }
      how = l.state().present() ? "rebuilt" : "created";
    }
    LOG.atInfo()
        .addKeyValue("table", config.table())
        .addKeyValue("elements", l.state().size())
        .addKeyValue("structure", how)
        .log("natStart");
    listing = null;
    started = true;
  }

  /**
   * Makes the kernel match {@code desired}: one nft transaction for the elements, the heartbeat in
   * its own small transaction (armed to the earliest deadline of the owned VIPs, computed right
   * before it is committed), steering routes around them, then conntrack clean-up for the VIPs
   * newly owned or released.
   *
   * @return the elements left out (refused up front, or by {@code nft} / {@code ip}); everything
   *     else is in place
   * @throws NatException when every attempt failed as a whole; the previous datapath is still in
   *     place
   */
  public ApplyResult apply(NodeDesired desired) {
    ensureOpen();
    NatException last = null;
    long backoff = config.retryBackoff().toMillis();
    for (int attempt = 1; attempt <= config.attempts(); attempt++) {
      try {
        return applyOnce(desired, attempt > 1 && attempt == config.attempts());
      } catch (NatException e) {
        last = e;
        invalidate();
        LOG.atWarn()
            .addKeyValue("attempt", attempt)
            .addKeyValue("of", config.attempts())
            .addKeyValue("error", e.getMessage())
            .log("natApplyFailed");
        if (attempt < config.attempts()) {
          sleep(backoff);
          backoff *= 2;
        }
      } catch (RuntimeException e) {
        // a bug or bad input, not the kernel: the mirror may be ahead of the kernel
        invalidate();
        throw e;
      }
    }
    throw last;
  }

  private ApplyResult applyOnce(NodeDesired desired, boolean rebuild) {
    long t0 = nanoClock.getAsLong();
    sync(false);
    Map<Integer, Set<InetAddress>> kernelHops = new TreeMap<>();
    for (SteeringRoutes.View v : routeView.values()) {
      v.nextHops(config)
          .forEach((k, s) -> kernelHops.computeIfAbsent(k, x -> new HashSet<>()).addAll(s));
    }
    Map<String, Integer> newSlots = NatPlan.assignSlots(desired, config, slots, kernelHops);
    owned.update(desired.owned());
    NatPlan plan = NatPlan.of(owned, desired, config, newSlots, localAddresses);
    Map<String, Set<String>> changedKeys = owned.drainChanged();
    if (!plan.conflicts().equals(lastConflicts)) {
      for (String c : plan.conflicts()) {
        LOG.atWarn().addKeyValue("detail", c).log("natConflict");
      }
      lastConflicts = plan.conflicts();
    }
    List<ApplyResult.Refused> refused = new ArrayList<>(plan.refused());

    List<String> script = new ArrayList<>();
    KernelElements cur = mirror;
    boolean whole = rebuild || !mirrorExact;
    if (rebuild) {
      if (listing.state().present()) {
        script.addAll(renderer.delete());
      }
      script.addAll(renderer.structure());
      cur = KernelElements.of(TableState.empty());
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
    List<ApplyResult.Refused> paths = new ArrayList<>(kernel.bridgeBatch(td.fdbBefore()));
    paths.addAll(kernel.neighBatch(td.neighBefore()));
    // a pod whose owner's table or rule was refused is not steered into it: held closed instead
    TableState want = plan.table();
    for (Family f : Family.values()) {
      List<ApplyResult.Refused> r = kernel.ipBatch(Map.of(f, rd.before().get(f)));
      paths.addAll(r);
      want = want.withoutSteering(f, marksOf(r));
    }

    ElementChanges changes = changes(cur, want, plan.deadlines(), whole ? null : changedKeys);
    List<List<String>> cleanup =
        config.conntrackCleanup() ? ConntrackCleanup.commands(cur, changes) : List.of();
    script.addAll(renderer.elements(changes));
    // the mirror runs ahead of the kernel until the commit: any failure below drops it
    mirrorExact = false;
    cur.apply(changes);
    mirror = cur;
    // a small change carries the heartbeat along (one nft run, not two); a large one never does
    Heartbeat hb =
        script.size() <= SMALL_SCRIPT
            ? new Heartbeat(renderer, config, nanoClock, cur, plan.deadlines(), owned.earliest())
            : null;
    List<ApplyResult.Refused> nftRefused =
        NftTransaction.commit(
            script,
            lines ->
                hb == null
                    ? kernel.nft(lines)
                    : kernel.nft(
                        () -> {
                          List<String> all = new ArrayList<>(lines);
                          all.addAll(hb.render());
                          return all;
                        }));
    refused.addAll(nftRefused);
    if (hb != null) {
      hb.committed();
    }
    cur.created();
    listing =
        new NftListing(
            cur.view(),
            listing.sets().isEmpty() || rebuild ? allNames() : listing.sets(),
            renderer.ruleCounts(),
            Set.of("fence; " + renderer.fingerprint()));
    mirrorExact = true;
    slots = newSlots;
    if (hb == null) {
      arm(plan.deadlines(), owned.earliest());
    }

    paths.addAll(kernel.ipBatch(rd.after()));
    paths.addAll(kernel.neighBatch(td.neighAfter()));
    paths.addAll(kernel.bridgeBatch(td.fdbAfter()));
    routeView = wantRoutes;
    tunnelView = wantTunnel;
    refused.addAll(paths);
    if (!nftRefused.isEmpty() || !paths.isEmpty()) {
      // what the kernel holds is not what was rendered: the next apply re-reads it and retries
      // each refused element on its own
      invalidate();
    }

    int cleaned = cleanConntrack(cleanup);
    LOG.atInfo()
        .addKeyValue("vips", plan.deadlines().size())
        .addKeyValue("changed", changes.size())
        .addKeyValue("whole", whole)
        .addKeyValue("slots", newSlots.size())
        .addKeyValue("refused", refused.size())
        .addKeyValue("conntrackRuns", cleaned)
        .addKeyValue("ms", (nanoClock.getAsLong() - t0) / 1_000_000)
        .log("natApplied");
    return new ApplyResult(refused);
  }

  /** The fwmarks of the owner slots whose routing table or rule appears in {@code lines}. */
  private Set<String> marksOf(List<ApplyResult.Refused> lines) {
    Set<String> marks = new HashSet<>();
    for (ApplyResult.Refused r : lines) {
      Matcher m = TABLE.matcher(r.element());
      if (m.find()) {
        int slot = Integer.parseInt(m.group(1)) - config.routeTableBase();
        if (slot >= 0 && slot < config.maxSlots()) {
          marks.add(NatPlan.mark(config.markOf(slot)));
        }
      }
    }
    return marks;
  }

  /**
   * Watches the kernel's links and routes ({@code ip -o monitor link route}): when an uplink or the
   * tunnel device changes (a link that goes down takes the steering routes through it along,
   * silently) or a steering table changes, the next {@link #apply} or {@link #refresh} re-reads
   * rules, routes, neighbours and FDB and restores what is missing, and {@code onChange} is called
   * — on the watch's thread: it must only enqueue that apply. Level-triggered against the kernel,
   * not against what was last written.
   *
   * @return the running watch; close it before {@link #close}
   */
  public CommandRunner.Watch watchKernel(Runnable onChange) {
    return runner.watch(
        KernelEvents.command(config),
        line -> {
          if (KernelEvents.relevant(line, config)) {
            kernelChanged.set(true);
            onChange.run();
          }
        });
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
    if (listing == null || mirror == null || kernelChanged.get()) {
      apply(desired);
      return;
    }
    Map<String, Long> deadlines = new HashMap<>();
    for (OwnedVip o : desired.owned()) {
      deadlines.put(Addresses.format(o.vip()), o.deadlineNanos());
    }
    arm(deadlines, Heartbeat.UNKNOWN);
  }

  /** Element scripts up to this many lines carry the heartbeat in the same (small) transaction. */
  static final int SMALL_SCRIPT = 64;

  /** The heartbeat in its own small transaction. */
  private void arm(Map<String, Long> deadlines, long earliest) {
    Heartbeat hb = new Heartbeat(renderer, config, nanoClock, mirror, deadlines, earliest);
    CommandRunner.Result r = kernel.nft(hb::render);
    if (!r.ok()) {
      invalidate();
      throw new NatException("nft heartbeat failed: " + r.stderr().strip());
    }
    hb.committed();
  }

  /**
   * The element operations from {@code cur} to {@code want}, whose {@code owned} sets become the
   * VIPs live now: with {@code changedKeys} null every element is compared (after the kernel was
   * read, or a rebuild); otherwise only the keys the planner changed since the last transaction
   * (the heartbeat moves the VIPs whose deadline passed).
   */
  private ElementChanges changes(
      KernelElements cur,
      TableState want,
      Map<String, Long> deadlines,
      Map<String, Set<String>> changedKeys) {
    long now = nanoClock.getAsLong();
    if (changedKeys == null) {
      Set<String> live = Heartbeat.live(config, deadlines.keySet(), deadlines, now);
      return ElementChanges.between(cur.view(), want.withOwned(live));
    }
    Map<String, Set<String>> only = new HashMap<>(changedKeys);
    Set<String> vips = new HashSet<>();
    for (Family f : Family.values()) {
      Set<String> k = changedKeys.get("vips" + f.suffix);
      only.put("owned" + f.suffix, k);
      vips.addAll(k);
    }
    return ElementChanges.between(
        cur.view(), want.withOwned(Heartbeat.live(config, vips, deadlines, now)), only);
  }

  /**
   * Removes the table, our rules and routes, and the SNAT bindings of the VIPs this node owned: the
   * node's pods egress as if vipgress were not installed (what uninstalling wants) — unless {@code
   * handingOver} (a restart, a rollout, SIGTERM), in which case everything stays for the successor
   * process: owned VIPs still expire at their deadlines, steered pods stay steered, and every local
   * egress backend stays held closed (dropped rather than leaked) until a successor applies.
   */
  public void close(boolean handingOver) {
    if (closed) {
      return;
    }
    closed = true;
    if (handingOver || !started) {
      // the heartbeat still lapses at the earliest deadline: a successor must refresh it
      LOG.atInfo().addKeyValue("handingOver", handingOver).log("natClosed");
      return;
    }
    NftListing l = kernel.readTable();
    if (l.state().present()) {
      CommandRunner.Result r = kernel.nft(renderer.delete());
      if (!r.ok()) {
        LOG.atWarn()
            .addKeyValue("what", "table")
            .addKeyValue("error", r.stderr().strip())
            .log("natCloseFailed");
      }
    }
    try {
      kernel.ipBatch(routes.removeAll(kernel.readRoutes()));
      kernel.removeDevice();
    } catch (NatException e) {
      LOG.atWarn()
          .addKeyValue("what", "routes")
          .addKeyValue("error", e.getMessage())
          .log("natCloseFailed");
    }
    if (config.conntrackCleanup()) {
      cleanConntrack(ConntrackCleanup.releaseAll(l.state()));
    }
    LOG.atInfo().addKeyValue("handingOver", false).log("natClosed");
  }

  @Override
  public void close() {
    close(false);
  }

  /** Forces the next apply to re-read the kernel. */
  public void invalidate() {
    listing = null;
    mirror = null;
    mirrorExact = false;
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
        CommandRunner.Result list =
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
        CommandRunner.Result c = runner.run(argv, "", config.commandTimeout());
        if (!ConntrackCleanup.ok(c)) {
          LOG.atWarn()
              .addKeyValue("args", args)
              .addKeyValue("error", c.stderr().strip())
              .log("conntrackCleanupFailed");
        }
        ran++;
      }
    }
    return ran;
  }

  // ---------------------------------------------------------------------------------------------

  private void sync(boolean force) {
    long now = nanoClock.getAsLong();
    boolean changed = kernelChanged.getAndSet(false);
    if (!force
        && listing != null
        && routeView != null
        && tunnelView != null
        && now - syncedAtNanos < config.resyncInterval().toNanos()) {
      if (changed) {
        // links or routes changed: the table is untouched by that, the paths may not be
        syncPaths();
      }
      return;
    }
    listing = kernel.readTable();
    mirror = KernelElements.of(listing.state());
    mirrorExact = false;
    syncPaths();
    syncedAtNanos = now;
  }

  private void syncPaths() {
    if (config.vxlan()) {
      // someone may have deleted or changed the device (and with it our routes through it)
      kernel.ensureDevice();
      tunnelView = kernel.readTunnel();
    } else {
      tunnelView = VxlanTunnel.View.empty();
    }
    routeView = kernel.readRoutes();
    localAddresses = kernel.readAddresses();
  }

  private static Set<String> allNames() {
    Set<String> s = new HashSet<>(TableState.TRACKED);
    s.add("alive");
    return s;
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
