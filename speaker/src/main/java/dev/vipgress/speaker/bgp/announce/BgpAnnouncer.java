package dev.vipgress.speaker.bgp.announce;

import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.announce.AnnouncerException;
import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.bgp.rib.Advertisement;
import dev.vipgress.speaker.config.BgpConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * BGP mode: advertises each VIP this node owns as a host route (/32, /128) to every router this
 * node peers with, with this node's address of the VIP's family on that session as the next hop.
 *
 * <p>Every session, timer and UPDATE runs on one netty event loop; the {@link Announcer} methods
 * only hand work to it. {@link #withdraw} returns once the withdrawal is in the socket of every
 * established session (bounded by {@link #WITHDRAW_WAIT}): the reconciler withdraws before the
 * release is written, so no router keeps the route of a node that gave the VIP up.
 *
 * <p>Health is per family: a VIP can be announced while at least one established session carries
 * its family ({@link #canAnnounce}). A VIP whose fencing deadline passed is withdrawn on its own.
 */
public final class BgpAnnouncer implements Announcer {
  private static final Logger LOG = LoggerFactory.getLogger(BgpAnnouncer.class);

  /** How long {@link #withdraw} waits for the withdrawal to reach the sockets at most. */
  static final Duration WITHDRAW_WAIT = Duration.ofSeconds(1);

  /** A session's identity: the peer's configuration and the router ID it opens with. */
  private record Key(BgpConfig.Peer peer, Inet4Address routerId) {}

  private final Transport transport;
  private final Optional<Inet4Address> nodeIpv4;
  private final BgpMetrics metrics;
  private final List<Runnable> healthCallbacks = new CopyOnWriteArrayList<>();
  private final AtomicBoolean syncPending = new AtomicBoolean();
  private final AtomicBoolean communitiesPending = new AtomicBoolean();

  /** VIP → fencing deadline ({@link System#nanoTime()}); written from any thread. */
  private final Map<InetAddress, Long> wanted = new ConcurrentHashMap<>();

  /** VIP → the Service's own communities, added to the configured ones. */
  private final Map<InetAddress, Advertisement> extras = new ConcurrentHashMap<>();

  private volatile BgpConfig config;
  private volatile Map<String, String> nodeLabels;
  private volatile Set<Family> carried = Set.of();
  private volatile List<PeerStatus> status = List.of();
  private EventLoopGroup group;
  private EventLoop loop;

  // ---- confined to the loop ----
  private final Map<Key, RouterSession> sessions = new LinkedHashMap<>();
  private ScheduledFuture<?> fence;
  private long fenceAt;
  private boolean closed;

  /**
   * @param nodeIpv4 the node's IPv4 address: the router ID of sessions without a configured one
   * @param nodeLabels this node's labels if known (peers with a node selector wait for them)
   */
  public BgpAnnouncer(
      Transport transport,
      BgpConfig config,
      Optional<Inet4Address> nodeIpv4,
      Optional<Map<String, String>> nodeLabels,
      BgpMetrics metrics) {
    this.transport = transport;
    this.config = config;
    this.nodeIpv4 = nodeIpv4;
    this.nodeLabels = nodeLabels.map(Map::copyOf).orElse(null);
    this.metrics = metrics;
  }

  @Override
  public void start() throws AnnouncerException {
    try {
      group = transport.group().get();
    } catch (RuntimeException e) {
      throw new AnnouncerException("BGP: cannot start the network event loop: " + e, e);
    }
    loop = group.next();
    loop.execute(this::applyConfig);
  }

  /** Applies a new configuration: only sessions whose peer changed are restarted. */
  public void configure(BgpConfig next) {
    config = next;
    onLoop(this::applyConfig);
  }

  /** This node's labels as last seen; peers with a node selector follow them. */
  @Override
  public void nodeLabels(Map<String, String> labels) {
    if (!labels.equals(nodeLabels)) {
      nodeLabels = Map.copyOf(labels);
      onLoop(this::applyConfig);
    }
  }

  /**
   * The communities VIPs carry besides the configured ones (their Services' annotations, {@link
   * ServiceCommunities}). Computed on the announcer's loop, coalesced: many calls before it runs
   * read {@code source} once. VIPs whose communities changed are re-advertised.
   */
  public void serviceCommunities(Supplier<Map<InetAddress, Advertisement>> source) {
    EventLoop l = loop;
    if (l != null && communitiesPending.compareAndSet(false, true)) {
      l.execute(
          () -> {
            communitiesPending.set(false);
            Map<InetAddress, Advertisement> next = source.get();
            if (!next.equals(extras)) {
              extras.keySet().retainAll(next.keySet());
              extras.putAll(next);
              var unused = sync();
            }
          });
    }
  }

  @Override
  public void announce(InetAddress vip, long fencingDeadlineNanos) {
    Long before = wanted.put(vip, fencingDeadlineNanos);
    if (before == null || before - System.nanoTime() <= 0) {
      requestSync(); // new, or fenced before: advertise again
    }
  }

  @Override
  public void withdraw(InetAddress vip) {
    withdrawAll(List.of(vip));
  }

  /** Withdraws all of {@code vips} in one pass: one UPDATE per 4096 octets, one wait. */
  @Override
  public void withdrawAll(Collection<InetAddress> vips) {
    boolean any = false;
    for (InetAddress vip : vips) {
      any |= wanted.remove(vip) != null;
    }
    if (!any || loop == null) {
      return;
    }
    if (loop.inEventLoop()) {
      var unused = sync();
      return;
    }
    CompletableFuture<Void> sent = new CompletableFuture<>();
    try {
      loop.execute(() -> whenAll(sync(), sent));
    } catch (RuntimeException e) {
      return; // the loop is gone: no session can carry it any more
    }
    try {
      sent.get(WITHDRAW_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.atWarn()
          .addKeyValue("vips", vips.size())
          .addKeyValue("error", e.toString())
          .log("bgpWithdrawNotConfirmed");
    }
  }

  @Override
  public boolean healthy() {
    return !carried.isEmpty();
  }

  /** Whether an established session can carry {@code vip}'s family now. */
  @Override
  public boolean canAnnounce(InetAddress vip) {
    return carried.contains(Family.of(vip));
  }

  @Override
  public void onHealthChange(Runnable callback) {
    healthCallbacks.add(callback);
  }

  /** Every configured peer of this node, as {@code /status} shows it. */
  public List<PeerStatus> peers() {
    return status;
  }

  @Override
  public void close() {
    if (loop == null) {
      return;
    }
    CompletableFuture<Void> stopped = new CompletableFuture<>();
    try {
      loop.execute(
          () -> {
            closed = true;
            wanted.clear();
            var unused = sync();
            for (RouterSession s : sessions.values()) {
              s.stop("vipgress speaker stopping");
            }
            sessions.clear();
            stopped.complete(null);
          });
      stopped.get(WITHDRAW_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.atWarn().addKeyValue("error", e.toString()).log("bgpCloseIncomplete");
    }
    var unused = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    loop = null;
  }

  // ---- on the loop ----

  private void onLoop(Runnable task) {
    EventLoop l = loop;
    if (l != null) {
      l.execute(task);
    }
  }

  private void requestSync() {
    EventLoop l = loop;
    if (l != null && syncPending.compareAndSet(false, true)) {
      l.execute(
          () -> {
            syncPending.set(false);
            var unused = sync();
          });
    }
  }

  /** The advertisements wanted now: announced VIPs whose fencing deadline has not passed. */
  private Collection<Advertisement> advertisements() {
    long now = System.nanoTime();
    BgpConfig cfg = config;
    List<Advertisement> out = new ArrayList<>(wanted.size());
    long next = Long.MAX_VALUE;
    for (Map.Entry<InetAddress, Long> e : wanted.entrySet()) {
      long left = e.getValue() - now;
      if (left <= 0) {
        continue; // fenced: the reconciler did not renew it in time
      }
      next = Math.min(next, left);
      Advertisement x = extras.get(e.getKey());
      List<Community> c = new ArrayList<>(cfg.communities());
      List<LargeCommunity> lc = new ArrayList<>(cfg.largeCommunities());
      if (x != null) {
        x.communities().stream().filter(v -> !c.contains(v)).forEach(c::add);
        x.largeCommunities().stream().filter(v -> !lc.contains(v)).forEach(lc::add);
      }
      out.add(new Advertisement(e.getKey(), c, lc));
    }
    armFence(now, next);
    return out;
  }

  /** Re-syncs when the earliest deadline passes, so that a VIP not renewed is withdrawn. */
  private void armFence(long now, long left) {
    if (left == Long.MAX_VALUE || closed) {
      return;
    }
    long at = now + left;
    if (fence != null && !fence.isDone() && fenceAt - at <= 0) {
      return;
    }
    if (fence != null) {
      fence.cancel(false);
    }
    fenceAt = at;
    fence = loop.schedule(() -> requestSync(), left + 1_000_000, TimeUnit.NANOSECONDS);
  }

  private List<Future<?>> sync() {
    Collection<Advertisement> ads = advertisements();
    List<Future<?>> sent = new ArrayList<>();
    for (RouterSession s : sessions.values()) {
      sent.addAll(s.sync(ads));
    }
    publish();
    return sent;
  }

  private static void whenAll(List<Future<?>> futures, CompletableFuture<Void> done) {
    if (futures.isEmpty()) {
      done.complete(null);
      return;
    }
    int[] left = {futures.size()};
    for (Future<?> f : futures) {
      f.addListener(
          x -> {
            if (--left[0] == 0) {
              done.complete(null);
            }
          });
    }
  }

  private void applyConfig() {
    if (closed) {
      return;
    }
    BgpConfig cfg = config;
    Map<String, String> labels = nodeLabels;
    Map<Key, BgpConfig.Peer> desired = new LinkedHashMap<>();
    List<String> unusable = new ArrayList<>();
    for (BgpConfig.Peer p : cfg.peers()) {
      boolean selected = p.nodeSelector().isEmpty() || (labels != null && p.selects(labels));
      if (!selected) {
        continue;
      }
      Optional<Inet4Address> id = p.routerId().or(cfg::routerId).or(() -> nodeIpv4);
      if (id.isEmpty()) {
        unusable.add(p.name());
        continue;
      }
      desired.put(new Key(p, id.get()), p);
    }
    if (!unusable.isEmpty()) {
      LOG.atError()
          .addKeyValue("peers", unusable)
          .log("bgpNoRouterId: this node has no IPv4 address; set bgp.routerID");
    }
    var it = sessions.entrySet().iterator();
    while (it.hasNext()) {
      var e = it.next();
      if (!desired.containsKey(e.getKey())) {
        e.getValue().stop("peer configuration changed");
        it.remove();
        LOG.atInfo().addKeyValue("peer", e.getKey().peer().name()).log("bgpPeerRemoved");
      }
    }
    for (Key k : desired.keySet()) {
      if (sessions.containsKey(k)) {
        continue; // unchanged: untouched
      }
      Optional<Bootstrap> b;
      String error = "";
      try {
        b = Optional.of(transport.bootstrap().apply(k.peer()));
      } catch (Transport.Unsupported e) {
        b = Optional.empty();
        error = e.getMessage();
      }
      RouterSession s =
          new RouterSession(
              k.peer(), k.routerId(), loop, transport, b, this::advertisements, new Events());
      sessions.put(k, s);
      LOG.atInfo()
          .addKeyValue("peer", k.peer().name())
          .addKeyValue("peerAs", k.peer().peerAsn())
          .addKeyValue("localAs", k.peer().localAsn())
          .addKeyValue("routerId", k.routerId().getHostAddress())
          .log("bgpPeerAdded");
      if (b.isPresent()) {
        s.start();
      } else {
        s.fail(error);
        LOG.atError()
            .addKeyValue("peer", k.peer().name())
            .addKeyValue("error", error)
            .log("bgpPeerUnusable");
      }
    }
    var unused = sync(); // new default communities reach every session
    healthChanged();
  }

  private final class Events implements RouterSession.Events {
    @Override
    public void up(RouterSession s) {
      healthChanged();
    }

    @Override
    public void down(RouterSession s) {
      healthChanged();
    }
  }

  private void healthChanged() {
    Set<Family> now = EnumSet.noneOf(Family.class);
    sessions.values().forEach(s -> now.addAll(s.carried()));
    publish();
    if (!now.equals(carried)) {
      carried = Set.copyOf(now);
      LOG.atInfo().addKeyValue("families", now).log("bgpCarriedFamilies");
      healthCallbacks.forEach(Runnable::run);
    }
  }

  private void publish() {
    List<PeerStatus> st = sessions.values().stream().map(RouterSession::status).toList();
    status = st;
    metrics.update(st);
  }
}
