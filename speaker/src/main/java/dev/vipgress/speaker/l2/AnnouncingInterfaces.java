package dev.vipgress.speaker.l2;

import dev.vipgress.speaker.announce.AnnouncerException;
import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The interfaces the L2 announcer answers on: which exist and match the configured names and globs,
 * whether each is up with its capture running, its MAC, and its IPv6 solicited-node groups. Polled
 * on the announcer's scheduler thread; the map is read by any.
 */
final class AnnouncingInterfaces {
  // the announcer's logger: its interface events keep the logger name they always had
  private static final Logger log = LoggerFactory.getLogger(L2Announcer.class);
  private static final long REOPEN_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final int FULL_READ_EVERY = 10;

  private final List<InterfacePattern> patterns;
  private final List<String> plainNames;
  private final boolean hasGlobs;
  private final LinkDirectory links;
  private final FramePort.Opener opener;
  private final L2Metrics metrics;
  private final VipTable table;
  private final BiConsumer<Iface, byte[]> onFrame;
  private final Runnable onCaptureStopped;
  private final Consumer<Iface> onUp;
  private final Map<String, Iface> ifaces = new ConcurrentHashMap<>();

  /** Whether an interface name seen by a glob is Ethernet; scheduler thread only. */
  private final Map<String, Boolean> ethernet = new HashMap<>();

  private long polls;

  /**
   * @param onFrame a frame received on an interface (on its receive thread)
   * @param onCaptureStopped a capture stopped on its own (on its receive thread)
   * @param onUp an interface came up (its groups are joined already): the announcer re-sends
   */
  AnnouncingInterfaces(
      L2Config config,
      LinkDirectory links,
      FramePort.Opener opener,
      L2Metrics metrics,
      VipTable table,
      BiConsumer<Iface, byte[]> onFrame,
      Runnable onCaptureStopped,
      Consumer<Iface> onUp) {
    this.patterns = config.patterns();
    this.plainNames =
        patterns.stream().filter(p -> !p.isGlob()).map(InterfacePattern::toString).toList();
    this.hasGlobs = patterns.stream().anyMatch(InterfacePattern::isGlob);
    this.links = links;
    this.opener = opener;
    this.metrics = metrics;
    this.table = table;
    this.onFrame = onFrame;
    this.onCaptureStopped = onCaptureStopped;
    this.onUp = onUp;
  }

  Iface get(String name) {
    return ifaces.get(name);
  }

  Collection<Iface> all() {
    return ifaces.values();
  }

  List<String> names() {
    return List.copyOf(ifaces.keySet());
  }

  /**
   * Opens a capture on each of {@code names} (start-up). A down interface is a health matter,
   * opened once it is up; any other failure closes what was opened and is thrown.
   */
  void open(List<String> names) throws AnnouncerException {
    try {
      for (String name : names) {
        Iface s = new Iface(name);
        s.mac = links.link(name).map(LinkDirectory.Link::mac).orElse(Mac.ZERO);
        try {
          s.port = openPort(s);
        } catch (AnnouncerException e) {
          // libpcap refuses a down interface; that is a health matter (opened once it is up),
          // anything else is a configuration or installation error
          if (links.isUp(name).orElse(true)) {
            throw e;
          }
          log.atWarn().setMessage("interfaceDownAtStart").addKeyValue("iface", name).log();
        }
        ifaces.put(name, s);
      }
    } catch (AnnouncerException e) {
      closeAll();
      throw e;
    }
  }

  private FramePort openPort(Iface s) throws AnnouncerException {
    return opener.open(s.name, frame -> onFrame.accept(s, frame), onCaptureStopped);
  }

  void closeAll() {
    for (Iface s : ifaces.values()) {
      FramePort p = s.port;
      if (p != null) {
        p.close();
      }
    }
    ifaces.clear();
  }

  /** Whether there is an interface and every one is up with its capture running. */
  boolean allUp() {
    boolean h = !ifaces.isEmpty();
    for (Iface s : ifaces.values()) {
      h &= s.up;
    }
    return h;
  }

  /**
   * Plain names are always tracked (a missing one is down); glob matches come and go with the
   * interfaces. Costs one sysfs read per interface per poll, plus a directory listing when there
   * are globs; the MAC is re-read every {@link #FULL_READ_EVERY} polls and whenever a link comes
   * up.
   */
  void refreshAll() {
    boolean full = ++polls % FULL_READ_EVERY == 0;
    List<String> names = new ArrayList<>(plainNames);
    if (hasGlobs) {
      for (String n : matching(links.names())) {
        if (!names.contains(n)) {
          names.add(n);
        }
      }
    }
    for (String gone : List.copyOf(ifaces.keySet())) {
      if (!names.contains(gone)) {
        Iface s = ifaces.remove(gone);
        if (s.port != null) {
          s.port.close();
        }
        metrics.interfaceUp(gone, false);
        log.atWarn().setMessage("interfaceRemoved").addKeyValue("iface", gone).log();
      }
    }
    for (String name : names) {
      Iface s = ifaces.get(name);
      if (s == null) {
        s = new Iface(name);
        ifaces.put(name, s);
        log.atInfo().setMessage("interfaceAdded").addKeyValue("iface", name).log();
      }
      refresh(s, full);
    }
  }

  private void refresh(Iface s, boolean full) {
    boolean linkUp = links.isUp(s.name).orElse(false);
    if (full || (linkUp && !s.up)) {
      links.link(s.name).ifPresent(l -> s.mac = l.mac());
    }
    if (linkUp && !s.portOpen() && System.nanoTime() - s.reopenAfterNanos >= 0) {
      if (s.port != null) {
        s.port.close();
        s.port = null;
        s.groups.clear();
      }
      try {
        s.port = openPort(s);
      } catch (AnnouncerException e) {
        s.reopenAfterNanos = System.nanoTime() + REOPEN_BACKOFF_NANOS;
        log.atWarn()
            .setMessage("captureOpenFailed")
            .addKeyValue("iface", s.name)
            .addKeyValue("error", e.getMessage())
            .log();
      }
    }
    boolean up = linkUp && s.portOpen();
    if (up == s.up) {
      return;
    }
    s.up = up;
    metrics.interfaceUp(s.name, up);
    try (var c = MDC.putCloseable("iface", s.name)) {
      if (up) {
        log.atInfo().setMessage("interfaceUp").addKeyValue("mac", s.mac.toString()).log();
      } else {
        log.atWarn()
            .setMessage("interfaceDown")
            .addKeyValue("linkUp", linkUp)
            .addKeyValue("captureRunning", s.portOpen())
            .log();
      }
    }
    if (up) {
      // Neighbours may have learnt another owner, or aged out, while we were cut off.
      syncGroups(s);
      onUp.accept(s);
    }
  }

  /** Every interface joins the groups of the IPv6 VIPs in the table and leaves the others. */
  void syncGroups() {
    ifaces.values().forEach(this::syncGroups);
  }

  /** Joins the solicited-node groups of the IPv6 VIPs in the table, leaves the others. */
  private void syncGroups(Iface s) {
    FramePort p = s.port;
    if (p == null) {
      return;
    }
    Set<Inet6Address> wanted = new HashSet<>();
    for (VipTable.Entry e : table.entries()) {
      if (e.vip() instanceof Inet6Address v6) {
        wanted.add(L2Constants.solicitedNode(v6));
      }
    }
    for (Inet6Address g : List.copyOf(s.groups)) {
      if (!wanted.contains(g)) {
        p.leaveGroup(g);
        s.groups.remove(g);
      }
    }
    for (Inet6Address g : wanted) {
      if (!s.groups.contains(g) && p.joinGroup(g)) {
        s.groups.add(g);
      }
    }
  }

  /** Names matching a pattern; a glob picks Ethernet interfaces only (a plain name is checked). */
  List<String> matching(List<String> all) {
    ethernet.keySet().retainAll(all);
    List<String> out = new ArrayList<>();
    for (String name : all) {
      for (InterfacePattern p : patterns) {
        if (p.matches(name)) {
          if (p.isGlob()
              && !ethernet.computeIfAbsent(
                  name, n -> links.link(n).map(LinkDirectory.Link::isEthernet).orElse(false))) {
            continue;
          }
          out.add(name);
          break;
        }
      }
    }
    return out;
  }
}
