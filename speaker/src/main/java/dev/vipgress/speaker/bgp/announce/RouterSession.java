package dev.vipgress.speaker.bgp.announce;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.Update;
import dev.vipgress.speaker.bgp.fsm.Backoff;
import dev.vipgress.speaker.bgp.fsm.BgpSession;
import dev.vipgress.speaker.bgp.fsm.Negotiated;
import dev.vipgress.speaker.bgp.fsm.SessionConfig;
import dev.vipgress.speaker.bgp.fsm.SessionEvent;
import dev.vipgress.speaker.bgp.fsm.SessionListener;
import dev.vipgress.speaker.bgp.fsm.SessionState;
import dev.vipgress.speaker.bgp.rib.Advertisement;
import dev.vipgress.speaker.bgp.rib.RibOut;
import dev.vipgress.speaker.bgp.rib.SessionRoutes;
import dev.vipgress.speaker.bgp.transport.EventLoopTicker;
import dev.vipgress.speaker.bgp.transport.SessionChannel;
import dev.vipgress.speaker.config.BgpConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * One configured peer on this node: its session (FSM + channel) and what it was sent (its
 * Adj-RIB-Out). Confined to the announcer's event loop. Active only: it connects to the router and
 * never listens.
 */
final class RouterSession {
  /** What the announcer learns from this session; called on the event loop. */
  interface Events {
    void up(RouterSession s);

    void down(RouterSession s);
  }

  private final BgpConfig.Peer config;
  private final Events events;
  private final Transport transport;
  private final Supplier<Collection<Advertisement>> advertisements;
  private final SessionChannel io;
  private final BgpSession session;
  private SessionRoutes routes;
  private RibOut rib = RibOut.EMPTY;
  private long upSince;
  private int flaps;
  private String lastError = "";

  /**
   * @param bootstrap how to reach the router ({@link Transport#bootstrap}), empty when the
   *     transport cannot (then {@code error} says why and the session never starts)
   */
  RouterSession(
      BgpConfig.Peer config,
      Inet4Address routerId,
      EventLoop loop,
      Transport transport,
      Optional<Bootstrap> bootstrap,
      Supplier<Collection<Advertisement>> advertisements,
      Events events) {
    this.config = config;
    this.transport = transport;
    this.events = events;
    this.advertisements = advertisements;
    this.io =
        new SessionChannel(
            config.name(),
            bootstrap.map(b -> b.group(loop)),
            Optional.of(transport.remote().apply(config)));
    this.session =
        new BgpSession(
            config.name(),
            new SessionConfig(
                config.localAsn(),
                config.peerAsn(),
                routerId,
                config.holdTime(),
                config.keepalive(),
                config.families(),
                false,
                config.connectRetry(),
                Backoff.DEFAULT),
            io,
            new EventLoopTicker(loop),
            new Listener(),
            () -> ThreadLocalRandom.current().nextDouble());
    io.session(session);
  }

  BgpConfig.Peer config() {
    return config;
  }

  void start() {
    session.handle(new SessionEvent.Start());
  }

  void fail(String error) {
    lastError = error;
  }

  /** Cease / Administrative Shutdown with {@code message} (RFC 8203); no restart. */
  void stop(String message) {
    session.handle(new SessionEvent.Stop(message));
  }

  /** The families this session carries now: none unless Established with a next hop for them. */
  Set<Family> carried() {
    Set<Family> out = EnumSet.noneOf(Family.class);
    if (routes != null) {
      for (Family f : Family.values()) {
        if (routes.carries(f)) {
          out.add(f);
        }
      }
    }
    return out;
  }

  /**
   * Sends what moves the router from what it was sent to {@code ads}; the futures complete once
   * those UPDATEs are in the socket.
   */
  List<Future<?>> sync(Collection<Advertisement> ads) {
    if (routes == null) {
      return List.of();
    }
    RibOut.Step step = rib.next(RibOut.wanted(routes, ads));
    List<Future<?>> sent = new ArrayList<>(step.updates().size());
    for (Update u : step.updates()) {
      sent.add(io.write(u));
    }
    rib = step.after();
    return sent;
  }

  PeerStatus status() {
    SessionState s = session.state();
    long up = routes == null ? 0 : (System.nanoTime() - upSince) / 1_000_000_000L;
    return new PeerStatus(
        config.name(),
        s.getClass().getSimpleName(),
        config.peerAsn(),
        config.localAsn(),
        up,
        flaps,
        rib.advertised().size(),
        lastError);
  }

  private final class Listener implements SessionListener {
    @Override
    public void established(Negotiated n) {
      Transport.NextHops hops = transport.nextHops().apply(io.localAddress());
      routes =
          new SessionRoutes(
              n.families(),
              config.localAsn(),
              config.localAsn() != config.peerAsn(),
              hops.v4(),
              hops.v6());
      upSince = System.nanoTime();
      rib = RibOut.EMPTY;
      var unused = sync(advertisements.get());
      events.up(RouterSession.this);
    }

    @Override
    public void down(String reason, Optional<Notification> notification) {
      boolean wasUp = routes != null;
      routes = null;
      rib = RibOut.EMPTY;
      lastError =
          reason
              + notification
                  .map(x -> " (NOTIFICATION " + x.code() + "/" + x.subcode() + ")")
                  .orElse("");
      if (wasUp) {
        flaps++;
        events.down(RouterSession.this);
      }
    }

    @Override
    public void routeRefresh(Family family) {
      for (Update u : rib.refresh(family)) {
        io.send(u);
      }
    }
  }
}
