package dev.vipgress.speaker.l2;

import dev.vipgress.nat.Addresses;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.announce.AnnouncerException;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Announces VIPs on the LAN: answers ARP requests and IPv6 neighbour solicitations for live VIPs
 * with the interface's MAC from userspace (one {@link PcapPort} per interface), and sends a burst
 * of gratuitous ARP requests / unsolicited NAs on takeover and whenever an interface comes back up.
 * The VIP is never added to an interface. See the package documentation for why the responder is in
 * userspace.
 *
 * <p>Health: {@link #healthy()} is true while every announcing interface (each plain name
 * configured, each Ethernet interface a glob matches; at least one) exists, is up with carrier, and
 * its capture runs. Interfaces are polled every {@link L2Config#linkPollInterval()}; a capture that
 * fails (interface deleted) is noticed at once and reopened when the interface is back.
 *
 * <p>Threads: one receive thread per interface answers requests; one scheduler thread runs the
 * bursts, polls interface state and calls the health callbacks. {@link #announce} and {@link
 * #withdraw} only update a table and enqueue; they throw {@link IllegalStateException} before
 * {@link #start} and after {@link #close} (which does not call the health callbacks).
 *
 * <p>Parts: {@link AnnouncingInterfaces} (which interfaces, their link and capture state, their
 * IPv6 groups), {@link VipTable} (what is live until when), {@link NeighborResponder} (what a
 * request gets); this class runs the lifecycle, the receive path, the bursts and the health.
 */
public final class L2Announcer implements Announcer {
  private static final Logger log = LoggerFactory.getLogger(L2Announcer.class);
  private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final L2Config config;
  private final List<InterfacePattern> patterns;
  private final L2Metrics metrics;
  private final LinkDirectory links;
  private final FramePort.Opener opener;
  private final LongSupplier clock;
  private final ScheduledExecutorService scheduler;
  private final VipTable table = new VipTable();
  private final NeighborResponder responder = new NeighborResponder(table);
  private final AnnouncingInterfaces ifaces;
  private final List<Runnable> healthCallbacks = new CopyOnWriteArrayList<>();
  private final Map<InetAddress, Long> lastLogged = new ConcurrentHashMap<>();

  /** Terms whose passed deadline was logged; scheduler thread only. */
  private final Map<InetAddress, Long> fencedLogged = new HashMap<>();

  private volatile boolean started;
  private volatile boolean closed;
  private volatile boolean healthy;

  public L2Announcer(L2Config config, PrometheusRegistry registry) {
    this(config, registry, new SysfsLinkDirectory(), PcapPort.OPENER, System::nanoTime);
  }

  L2Announcer(
      L2Config config,
      PrometheusRegistry registry,
      LinkDirectory links,
      FramePort.Opener opener,
      LongSupplier clock) {
    this.config = Objects.requireNonNull(config);
    this.patterns = config.patterns();
    this.metrics = L2Metrics.forRegistry(registry);
    this.links = links;
    this.opener = opener;
    this.clock = clock;
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("vipgress-l2").factory());
    this.ifaces =
        new AnnouncingInterfaces(
            config, links, opener, metrics, table, this::onFrame, this::tickSoon, this::resend);
  }

  @Override
  public synchronized void start() throws AnnouncerException {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (started) {
      return;
    }
    if (patterns.isEmpty()) {
      throw new AnnouncerException(
          "L2 announcer: no interface to announce on (l2.interfaces is empty and no default"
              + " was resolved); set l2.interfaces to the node's LAN interface, e.g. [eth0]");
    }
    opener.checkLibrary();
    List<String> all = links.names();
    for (InterfacePattern p : patterns) {
      if (!p.isGlob() && !all.contains(p.toString())) {
        throw new AnnouncerException(
            "L2 announcer: interface "
                + p
                + " does not exist in this network namespace (interfaces: "
                + String.join(", ", all)
                + "). Fix l2.interfaces; the daemon needs hostNetwork: true.");
      }
      if (!p.isGlob()) {
        Optional<LinkDirectory.Link> l = links.link(p.toString());
        if (l.isPresent() && !l.get().isEthernet()) {
          throw new AnnouncerException(
              "L2 announcer: interface "
                  + p
                  + " is not an Ethernet interface (ARPHRD type "
                  + l.get().arpHardwareType()
                  + "); L2 mode answers ARP/NDP on Ethernet links only, use BGP mode there");
        }
      }
    }
    List<String> names = ifaces.matching(all);
    if (names.isEmpty()) {
      throw new AnnouncerException(
          "L2 announcer: no Ethernet interface matches "
              + config.interfaces()
              + " (interfaces: "
              + String.join(", ", all)
              + ")");
    }
    ifaces.open(names);
    CodecWarmUp.run();
    started = true;
    log.atInfo()
        .setMessage("l2AnnouncerStarted")
        .addKeyValue("interfaces", String.join(",", names))
        .addKeyValue("garpCount", config.garpCount())
        .addKeyValue("garpIntervalMs", config.garpInterval().toMillis())
        .log();
    long poll = config.linkPollInterval().toNanos();
    try {
      // the first poll decides healthy() before start() returns
      scheduler.submit(this::tick).get();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    var unused = scheduler.scheduleWithFixedDelay(this::tick, poll, poll, TimeUnit.NANOSECONDS);
  }

  @Override
  public void announce(InetAddress vip, long fencingDeadlineNanos) {
    requireStarted();
    checkVip(vip);
    long now = clock.getAsLong();
    VipTable.Announced a = table.announce(vip, fencingDeadlineNanos, now);
    if (!a.takeover()) {
      return;
    }
    VipTable.Entry e = a.entry();
    try (var c = MDC.putCloseable("vip", Addresses.format(e.vip()))) {
      long msLeft = TimeUnit.NANOSECONDS.toMillis(fencingDeadlineNanos - now);
      if (msLeft <= 0) {
        log.atWarn().setMessage("vipAnnounceExpired").addKeyValue("deadlineMsAgo", -msLeft).log();
      } else {
        log.atInfo().setMessage("vipAnnounced").addKeyValue("deadlineInMs", msLeft).log();
      }
    }
    runOnScheduler(
        () -> {
          if (e.vip() instanceof Inet6Address) {
            ifaces.syncGroups();
          }
          burstStep(e, ifaces.names(), config.garpCount());
        });
  }

  @Override
  public void withdraw(InetAddress vip) {
    Objects.requireNonNull(vip);
    if (!table.withdraw(vip)) {
      return;
    }
    try (var c = MDC.putCloseable("vip", Addresses.format(vip))) {
      log.atInfo().setMessage("vipWithdrawn").log();
    }
    if (VipTable.canonical(vip) instanceof Inet6Address) {
      runOnScheduler(ifaces::syncGroups);
    }
  }

  @Override
  public boolean healthy() {
    return healthy;
  }

  @Override
  public void onHealthChange(Runnable callback) {
    healthCallbacks.add(Objects.requireNonNull(callback));
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    table.clear(); // answers stop here, before anything is torn down
    healthy = false;
    scheduler.shutdownNow();
    try {
      scheduler.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    ifaces.closeAll();
    if (started) {
      log.atInfo().setMessage("l2AnnouncerClosed").log();
    }
  }

  // ---- receive path (one thread per interface) ----

  private void onFrame(Iface s, byte[] frame) {
    NeighborResponder.Decision d = responder.onFrame(frame, frame.length, s.mac, clock.getAsLong());
    switch (d) {
      case NeighborResponder.Answer a -> {
        // Check again just before sending: a pause (GC, SIGSTOP) after the decision must not
        // produce an answer after the deadline.
        if (table.status(a.vip(), clock.getAsLong()) != VipTable.Status.LIVE) {
          refused(s, a.vip());
          return;
        }
        if (send(s, a.frame())) {
          metrics.answered(s.name, a.vip());
        }
      }
      case NeighborResponder.Refused r -> refused(s, r.vip());
      case NeighborResponder.Conflict c -> {
        metrics.conflict(s.name, c.vip());
        if (shouldLog(c.vip())) {
          try (var m = MDC.putCloseable("vip", Addresses.format(c.vip()))) {
            log.atWarn()
                .setMessage("vipConflict")
                .addKeyValue("claimant", c.claimant().toString())
                .log();
          }
        }
      }
      case NeighborResponder.Malformed m -> {
        metrics.malformed(s.name);
        log.atDebug().setMessage("frameMalformed").addKeyValue("reason", m.reason()).log();
      }
      case NeighborResponder.Ignored i -> {}
    }
  }

  private void refused(Iface s, InetAddress vip) {
    metrics.refused(s.name, vip);
    if (shouldLog(vip)) {
      try (var m = MDC.putCloseable("vip", Addresses.format(vip))) {
        log.atInfo().setMessage("requestRefused").addKeyValue("reason", "fencingDeadline").log();
      }
    }
  }

  private boolean shouldLog(InetAddress vip) {
    long now = clock.getAsLong();
    Long last = lastLogged.get(vip);
    if (last != null && now - last < LOG_EVERY_NANOS) {
      return false;
    }
    lastLogged.put(vip, now);
    return true;
  }

  private boolean send(Iface s, byte[] frame) {
    FramePort p = s.port;
    if (p == null) {
      return false;
    }
    try {
      p.send(frame);
      return true;
    } catch (IOException e) {
      metrics.sendError(s.name);
      log.atDebug().setMessage("sendFailed").addKeyValue("error", e.getMessage()).log();
      return false;
    }
  }

  // ---- scheduler thread ----

  /** One step of a gratuitous burst for one term of one VIP, on the given interfaces. */
  private void burstStep(VipTable.Entry e, List<String> names, int remaining) {
    for (String name : names) {
      Iface s = ifaces.get(name);
      if (s == null || !s.up) {
        continue;
      }
      byte[] frame = gratuitous(s.mac, e.vip());
      // Checked immediately before each send, not once per step: a send that blocked, a GC pause
      // or SIGSTOP must not let a late frame point the neighbours back at a fenced node.
      if (!table.liveInTerm(e.vip(), e.term(), clock.getAsLong())) {
        return; // withdrawn, re-taken or past its deadline
      }
      if (send(s, frame)) {
        metrics.garpSent(name, e.vip());
      }
    }
    if (remaining > 1 && table.liveInTerm(e.vip(), e.term(), clock.getAsLong())) {
      schedule(() -> burstStep(e, names, remaining - 1), config.garpInterval().toNanos());
    }
  }

  static byte[] gratuitous(Mac mac, InetAddress vip) {
    return switch (vip) {
      case Inet4Address v4 -> FrameEncoder.encode(ArpPacket.gratuitousRequest(mac, v4));
      case Inet6Address v6 -> FrameEncoder.encode(NeighborAdvertisement.unsolicited(mac, v6));
      default -> throw new IllegalArgumentException(vip.toString());
    };
  }

  private void tick() {
    try {
      if (closed) {
        return;
      }
      ifaces.refreshAll();
      updateHealth();
      sweepDeadlines();
    } catch (RuntimeException e) {
      log.atError().setMessage("l2TickFailed").setCause(e).log();
    }
  }

  private void tickSoon() {
    runOnScheduler(this::tick);
  }

  /** An interface came (back) up: neighbours may have learnt another owner, or aged out. */
  private void resend(Iface s) {
    List<String> only = List.of(s.name);
    for (VipTable.Entry e : table.entries()) {
      burstStep(e, only, config.garpCount());
    }
  }

  private void updateHealth() {
    boolean h = !closed && ifaces.allUp();
    if (h == healthy) {
      return;
    }
    healthy = h;
    log.atInfo().setMessage("l2HealthChanged").addKeyValue("healthy", h).log();
    for (Runnable r : healthCallbacks) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.atError().setMessage("healthCallbackFailed").setCause(e).log();
      }
    }
  }

  private void sweepDeadlines() {
    long now = clock.getAsLong();
    int live = 0;
    Set<InetAddress> present = new HashSet<>();
    for (VipTable.Entry e : table.entries()) {
      present.add(e.vip());
      if (e.liveAt(now)) {
        live++;
        continue;
      }
      Long logged = fencedLogged.get(e.vip());
      if (logged == null || logged != e.term()) {
        fencedLogged.put(e.vip(), e.term());
        try (var c = MDC.putCloseable("vip", Addresses.format(e.vip()))) {
          log.atWarn()
              .setMessage("fencingDeadlinePassed")
              .addKeyValue("msAgo", TimeUnit.NANOSECONDS.toMillis(now - e.deadlineNanos()))
              .log();
        }
      }
    }
    fencedLogged.keySet().retainAll(present);
    lastLogged.keySet().retainAll(present);
    metrics.liveVips(live);
  }

  // ---- helpers ----

  private void runOnScheduler(Runnable r) {
    try {
      scheduler.execute(r);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void schedule(Runnable r, long delayNanos) {
    try {
      var unused = scheduler.schedule(r, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void requireStarted() {
    if (closed) {
      throw new IllegalStateException("L2 announcer is closed");
    }
    if (!started) {
      throw new IllegalStateException("L2 announcer is not started");
    }
  }

  private static void checkVip(InetAddress vip) {
    Objects.requireNonNull(vip, "vip");
    if (vip.isAnyLocalAddress() || vip.isMulticastAddress() || vip.isLoopbackAddress()) {
      throw new IllegalArgumentException("not a unicast VIP: " + Addresses.format(vip));
    }
  }
}
