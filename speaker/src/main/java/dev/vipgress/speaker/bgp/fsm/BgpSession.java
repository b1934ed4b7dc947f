package dev.vipgress.speaker.bgp.fsm;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.CEASE_COLLISION_RESOLUTION;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_CEASE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_FSM;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_HOLD_TIMER;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_OPEN;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.FSM_UNEXPECTED_IN_ESTABLISHED;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.FSM_UNEXPECTED_IN_OPENCONFIRM;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.FSM_UNEXPECTED_IN_OPENSENT;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.OPEN_BAD_BGP_ID;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.OPEN_BAD_PEER_AS;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.OPEN_UNACCEPTABLE_HOLD_TIME;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.OPEN_UNSUPPORTED_CAPABILITY;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Keepalive;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.Open;
import dev.vipgress.speaker.bgp.codec.RouteRefresh;
import dev.vipgress.speaker.bgp.codec.Update;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.CollisionLost;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Connected;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.ConnectionLost;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Malformed;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Received;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Start;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Stop;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.TimerExpired;
import dev.vipgress.speaker.bgp.fsm.SessionState.Active;
import dev.vipgress.speaker.bgp.fsm.SessionState.Connect;
import dev.vipgress.speaker.bgp.fsm.SessionState.Established;
import dev.vipgress.speaker.bgp.fsm.SessionState.Idle;
import dev.vipgress.speaker.bgp.fsm.SessionState.OpenConfirm;
import dev.vipgress.speaker.bgp.fsm.SessionState.OpenSent;
import java.net.Inet4Address;
import java.time.Duration;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One BGP session's FSM (RFC 4271 §8): one handler per state, each returning the {@link
 * Transition}. Single-threaded: every event must come from the session's thread (its netty event
 * loop), and so do the timers through the {@link Ticker}. Sending goes through {@link SessionIo};
 * what the speaker needs to know goes to the {@link SessionListener}.
 */
public final class BgpSession {
  private static final Logger LOG = LoggerFactory.getLogger(BgpSession.class);

  private final String peer;
  private final SessionConfig config;
  private final SessionIo io;
  private final Ticker ticker;
  private final SessionListener listener;
  private final DoubleSupplier random;
  private final Map<Timer, Ticker.Scheduled> timers = new EnumMap<>(Timer.class);

  private SessionState state = new Idle();
  private boolean stopped = true;
  private int failures;

  public BgpSession(
      String peer,
      SessionConfig config,
      SessionIo io,
      Ticker ticker,
      SessionListener listener,
      DoubleSupplier random) {
    this.peer = peer;
    this.config = config;
    this.io = io;
    this.ticker = ticker;
    this.listener = listener;
    this.random = random;
  }

  public SessionState state() {
    return state;
  }

  /** Consecutive sessions that ended before reaching Established (drives the backoff). */
  public int failures() {
    return failures;
  }

  public boolean timerRunning(Timer t) {
    return timers.containsKey(t);
  }

  /** Feeds one event through the handler of the current state. */
  public Transition handle(SessionEvent event) {
    SessionState before = state;
    Transition t =
        switch (state) {
          case Idle s -> idle(event);
          case Connect s -> connect(event);
          case Active s -> active(event);
          case OpenSent s -> openSent(event);
          case OpenConfirm s -> openConfirm(s, event);
          case Established s -> established(s, event);
        };
    state = t.next();
    if (!before.getClass().equals(state.getClass())) {
      LOG.atDebug()
          .addKeyValue("peer", peer)
          .addKeyValue("from", SessionState.name(before))
          .addKeyValue("to", SessionState.name(state))
          .addKeyValue("reason", t.reason())
          .log("sessionState");
    }
    return t;
  }

  // ---- one handler per state ---------------------------------------------------------------

  private Transition idle(SessionEvent e) {
    return switch (e) {
      case Start s -> {
        stopped = false;
        yield begin("manual start");
      }
      case TimerExpired(Timer t) when t == Timer.IDLE_HOLD -> {
        timers.remove(Timer.IDLE_HOLD);
        yield begin("automatic restart");
      }
      case Connected c -> {
        io.disconnect(); // RFC 4271 §8.2.2 Idle: connections are refused
        yield stay("connection refused in Idle");
      }
      default -> stay("ignored in Idle: " + e);
    };
  }

  private Transition begin(String why) {
    if (config.passive()) {
      return new Transition(new Active(), why + ", passive");
    }
    io.connect();
    start(Timer.CONNECT_RETRY, config.connectRetry());
    return new Transition(new Connect(), why);
  }

  private Transition connect(SessionEvent e) {
    return switch (e) {
      case Connected c -> openSent(c.inbound() ? "peer connected" : "connected");
      case ConnectionLost l -> {
        start(Timer.CONNECT_RETRY, config.connectRetry());
        yield new Transition(new Active(), "connect failed: " + l.why());
      }
      case TimerExpired(Timer t) when t == Timer.CONNECT_RETRY -> {
        io.disconnect();
        io.connect();
        start(Timer.CONNECT_RETRY, config.connectRetry());
        yield stay("connect retry");
      }
      case Stop s -> toIdle("manual stop", Optional.empty(), true);
      case Start s -> stay("already started");
      default -> toIdle("unexpected in Connect: " + e, Optional.empty(), false);
    };
  }

  private Transition active(SessionEvent e) {
    return switch (e) {
      case Connected c -> openSent(c.inbound() ? "peer connected" : "connected");
      case TimerExpired(Timer t) when t == Timer.CONNECT_RETRY -> {
        io.connect();
        start(Timer.CONNECT_RETRY, config.connectRetry());
        yield new Transition(new Connect(), "connect retry");
      }
      case Stop s -> toIdle("manual stop", Optional.empty(), true);
      case Start s -> stay("already started");
      case ConnectionLost l ->
          toIdle("connection lost in Active: " + l.why(), Optional.empty(), false);
      default -> toIdle("unexpected in Active: " + e, Optional.empty(), false);
    };
  }

  private Transition openSent(String why) {
    stop(Timer.CONNECT_RETRY);
    io.send(
        Open.ours(
            config.localAs(),
            (int) config.holdTime().toSeconds(),
            config.routerId(),
            config.families()));
    start(Timer.HOLD, SessionConfig.LARGE_HOLD);
    return new Transition(new OpenSent(), why + ", OPEN sent");
  }

  private Transition openSent(SessionEvent e) {
    return switch (e) {
      case Received(Open open) -> {
        Negotiated n;
        try {
          n = negotiate(open);
        } catch (OpenRejected r) {
          yield toIdle("OPEN rejected: " + r.getMessage(), Optional.of(r.notification), false);
        }
        if (!listener.openReceived(n)) {
          yield collisionLost();
        }
        io.send(Keepalive.INSTANCE);
        restartHoldAndKeepalive(n);
        yield new Transition(new OpenConfirm(n), "OPEN received");
      }
      case Received(Notification n) ->
          toIdle("NOTIFICATION received", Optional.of(n), false, false);
      case Received r ->
          toIdle(
              "unexpected " + r.message().getClass().getSimpleName() + " in OpenSent",
              Optional.of(new Notification(ERR_FSM, FSM_UNEXPECTED_IN_OPENSENT)),
              false);
      case ConnectionLost l -> {
        // RFC 4271 §8.2.2 OpenSent, Event 18: back to Active, listening
        stop(Timer.HOLD);
        io.disconnect();
        start(Timer.CONNECT_RETRY, config.connectRetry());
        yield new Transition(new Active(), "connection lost in OpenSent: " + l.why());
      }
      default -> common(e, "OpenSent");
    };
  }

  private Transition openConfirm(OpenConfirm s, SessionEvent e) {
    return switch (e) {
      case Received(Keepalive k) -> {
        restart(Timer.HOLD, s.negotiated().holdTime());
        failures = 0;
        listener.established(s.negotiated());
        LOG.atInfo()
            .addKeyValue("peer", peer)
            .addKeyValue("peerAs", s.negotiated().peer().asNumber())
            .addKeyValue("holdTime", s.negotiated().holdTime().toSeconds())
            .addKeyValue("families", s.negotiated().families())
            .log("sessionUp");
        yield new Transition(
            new Established(s.negotiated(), ticker.nanoTime()), "KEEPALIVE received");
      }
      case Received(Notification n) ->
          toIdle("NOTIFICATION received", Optional.of(n), false, false);
      case Received r ->
          toIdle(
              "unexpected " + r.message().getClass().getSimpleName() + " in OpenConfirm",
              Optional.of(new Notification(ERR_FSM, FSM_UNEXPECTED_IN_OPENCONFIRM)),
              false);
      case TimerExpired(Timer t) when t == Timer.KEEPALIVE -> keepalive(s.negotiated(), s);
      default -> common(e, "OpenConfirm");
    };
  }

  private Transition established(Established s, SessionEvent e) {
    return switch (e) {
      case Received(Keepalive k) -> {
        restart(Timer.HOLD, s.negotiated().holdTime());
        yield stay("KEEPALIVE");
      }
      case Received(Update u) -> {
        restart(Timer.HOLD, s.negotiated().holdTime());
        u.treatAsWithdraw()
            .ifPresent(
                why ->
                    LOG.atInfo()
                        .addKeyValue("peer", peer)
                        .addKeyValue("reason", why)
                        .log("updateTreatedAsWithdraw"));
        yield stay("UPDATE ignored (received routes are not used)");
      }
      case Received(RouteRefresh r) -> {
        Optional<Family> f = r.family().filter(s.negotiated().families()::contains);
        f.ifPresent(listener::routeRefresh); // RFC 2918 §4: other families are ignored
        yield stay(f.isPresent() ? "route refresh " + f.get() : "route refresh ignored");
      }
      case Received(Notification n) ->
          toIdle("NOTIFICATION received", Optional.of(n), false, false);
      case Received(Open o) ->
          toIdle(
              "OPEN in Established",
              Optional.of(new Notification(ERR_FSM, FSM_UNEXPECTED_IN_ESTABLISHED)),
              false);
      case TimerExpired(Timer t) when t == Timer.KEEPALIVE -> keepalive(s.negotiated(), s);
      default -> common(e, "Established");
    };
  }

  /** Events handled alike in OpenSent, OpenConfirm and Established. */
  private Transition common(SessionEvent e, String where) {
    return switch (e) {
      case TimerExpired(Timer t) when t == Timer.HOLD ->
          toIdle(
              "hold timer expired in " + where,
              Optional.of(new Notification(ERR_HOLD_TIMER, 0)),
              false);
      case Stop s -> toIdle("manual stop", Optional.of(Notification.shutdown(s.message())), true);
      case Malformed m ->
          toIdle("malformed message: " + m.why(), Optional.of(m.notification()), false);
      case ConnectionLost l -> toIdle("connection lost: " + l.why(), Optional.empty(), false);
      case CollisionLost c -> collisionLost();
      case Start s -> stay("already started");
      case Connected c -> stay("second connection is the peer level's to handle");
      default -> stay("ignored in " + where + ": " + e);
    };
  }

  private Transition collisionLost() {
    return toIdle(
        "connection collision lost",
        Optional.of(new Notification(ERR_CEASE, CEASE_COLLISION_RESOLUTION)),
        false);
  }

  private Transition keepalive(Negotiated n, SessionState s) {
    io.send(Keepalive.INSTANCE);
    start(Timer.KEEPALIVE, n.keepalive());
    return new Transition(s, "KEEPALIVE sent");
  }

  private Transition stay(String reason) {
    return new Transition(state, reason);
  }

  private Transition toIdle(String reason, Optional<Notification> notification, boolean manual) {
    return toIdle(reason, notification, manual, true);
  }

  /**
   * Leaves for Idle: NOTIFICATION (if we send one), close, timers off, and unless stopped by hand
   * an automatic restart after the backoff.
   */
  private Transition toIdle(
      String reason, Optional<Notification> notification, boolean manual, boolean weSend) {
    if (weSend) {
      notification.ifPresent(io::send);
    }
    io.disconnect();
    for (Ticker.Scheduled t : timers.values()) {
      t.cancel();
    }
    timers.clear();
    boolean wasUp = !(state instanceof Idle || state instanceof Connect || state instanceof Active);
    if (wasUp) {
      listener.down(reason, notification);
    }
    if (state instanceof Established) {
      LOG.atWarn()
          .addKeyValue("peer", peer)
          .addKeyValue("reason", reason)
          .addKeyValue("code", notification.map(Notification::code).orElse(-1))
          .addKeyValue("subcode", notification.map(Notification::subcode).orElse(-1))
          .addKeyValue("sent", weSend)
          .log("sessionDown");
    }
    if (manual) {
      stopped = true;
    } else if (!stopped) {
      failures++;
      start(Timer.IDLE_HOLD, config.backoff().delay(failures, random));
    }
    return new Transition(new Idle(), reason);
  }

  // ---- OPEN checks and hold time negotiation (RFC 4271 §4.2, §6.2) ----------------------------

  private static final class OpenRejected extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Notification notification;

    OpenRejected(int subcode, String why) {
      super(why, null, false, false);
      this.notification = new Notification(ERR_OPEN, subcode);
    }
  }

  private Negotiated negotiate(Open open) throws OpenRejected {
    if (open.asNumber() != config.peerAs()) {
      throw new OpenRejected(
          OPEN_BAD_PEER_AS, "peer AS " + open.asNumber() + ", expected " + config.peerAs());
    }
    Inet4Address id = open.bgpIdentifier();
    if (id.isAnyLocalAddress() || (!config.ebgp() && id.equals(config.routerId()))) {
      throw new OpenRejected(OPEN_BAD_BGP_ID, "BGP identifier " + id.getHostAddress());
    }
    if (open.holdTime() == 1 || open.holdTime() == 2) {
      throw new OpenRejected(OPEN_UNACCEPTABLE_HOLD_TIME, "hold time " + open.holdTime());
    }
    if (!open.fourOctetAs()) {
      throw new OpenRejected(OPEN_UNSUPPORTED_CAPABILITY, "the peer lacks 4-octet AS support");
    }
    // RFC 4760 §8: a peer without multiprotocol capabilities speaks IPv4 unicast only
    Set<Family> theirs = open.families().isEmpty() ? Set.of(Family.IPV4_UNICAST) : open.families();
    Set<Family> both = EnumSet.noneOf(Family.class);
    both.addAll(config.families());
    both.retainAll(theirs);
    if (both.isEmpty()) {
      throw new OpenRejected(OPEN_UNSUPPORTED_CAPABILITY, "no address family in common: " + theirs);
    }
    long hold = Math.min(config.holdTime().toSeconds(), open.holdTime());
    Duration holdTime = Duration.ofSeconds(hold);
    Duration third = Duration.ofMillis(hold * 1000 / 3);
    Duration keepalive = config.keepalive().compareTo(third) < 0 ? config.keepalive() : third;
    return new Negotiated(holdTime, keepalive, both, open, config.routerId());
  }

  private void restartHoldAndKeepalive(Negotiated n) {
    if (n.holdTime().isZero()) {
      stop(Timer.HOLD); // RFC 4271 §4.2: hold time zero, no timers
      return;
    }
    restart(Timer.HOLD, n.holdTime());
    start(Timer.KEEPALIVE, n.keepalive());
  }

  // ---- timers -------------------------------------------------------------------------------

  private void restart(Timer t, Duration d) {
    if (d.isZero()) {
      stop(t);
    } else {
      start(t, d);
    }
  }

  private void start(Timer t, Duration d) {
    stop(t);
    timers.put(t, ticker.schedule(d, () -> fire(t)));
  }

  private void fire(Timer t) {
    timers.remove(t);
    handle(new TimerExpired(t));
  }

  private void stop(Timer t) {
    Ticker.Scheduled s = timers.remove(t);
    if (s != null) {
      s.cancel();
    }
  }
}
