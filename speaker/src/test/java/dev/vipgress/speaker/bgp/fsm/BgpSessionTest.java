package dev.vipgress.speaker.bgp.fsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Keepalive;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.Open;
import dev.vipgress.speaker.bgp.codec.RouteRefresh;
import dev.vipgress.speaker.bgp.codec.Update;
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
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The FSM through a fake connection and a fake clock: no sockets, no sleeping. */
class BgpSessionTest {
  static final long LOCAL_AS = 4_200_000_011L;
  static final long PEER_AS = 64512;
  static final Set<Family> BOTH = Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST);

  final FakeTicker ticker = new FakeTicker();
  final FakeIo io = new FakeIo();
  final RecordingListener listener = new RecordingListener();

  static Inet4Address ip(String s) {
    try {
      return (Inet4Address) InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static SessionConfig config(boolean passive, long holdSeconds) {
    return new SessionConfig(
        LOCAL_AS,
        PEER_AS,
        ip("10.0.0.1"),
        Duration.ofSeconds(holdSeconds),
        Duration.ofSeconds(30),
        BOTH,
        passive,
        Duration.ofSeconds(120),
        new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), 0.25));
  }

  BgpSession session(SessionConfig config) {
    return new BgpSession("peer", config, io, ticker, listener, () -> 0.0);
  }

  static Open peerOpen(int hold) {
    return Open.ours(PEER_AS, hold, ip("10.0.0.2"), BOTH);
  }

  BgpSession openSent() {
    BgpSession s = session(config(false, 90));
    s.handle(new Start());
    s.handle(new Connected(false));
    assertInstanceOf(OpenSent.class, s.state());
    return s;
  }

  BgpSession openConfirm(int peerHold) {
    BgpSession s = openSent();
    s.handle(new Received(peerOpen(peerHold)));
    assertInstanceOf(OpenConfirm.class, s.state());
    return s;
  }

  BgpSession established(int peerHold) {
    BgpSession s = openConfirm(peerHold);
    s.handle(new Received(Keepalive.INSTANCE));
    assertInstanceOf(Established.class, s.state());
    return s;
  }

  Notification lastNotification() {
    return assertInstanceOf(Notification.class, io.last());
  }

  @Test
  void activePeerGoesThroughAllStatesToEstablished() {
    BgpSession s = session(config(false, 90));
    assertInstanceOf(Idle.class, s.state());
    s.handle(new Start());
    assertInstanceOf(Connect.class, s.state());
    assertEquals(1, io.connects);
    assertTrue(s.timerRunning(Timer.CONNECT_RETRY));

    s.handle(new Connected(false));
    assertInstanceOf(OpenSent.class, s.state());
    Open ours = assertInstanceOf(Open.class, io.last());
    assertEquals(LOCAL_AS, ours.asNumber());
    assertEquals(90, ours.holdTime());
    assertEquals(BOTH, ours.families());
    assertFalse(s.timerRunning(Timer.CONNECT_RETRY));
    assertTrue(s.timerRunning(Timer.HOLD));

    s.handle(new Received(peerOpen(90)));
    assertInstanceOf(OpenConfirm.class, s.state());
    assertEquals(Keepalive.INSTANCE, io.last());

    s.handle(new Received(Keepalive.INSTANCE));
    Established e = assertInstanceOf(Established.class, s.state());
    assertEquals(1, listener.established.size());
    assertEquals(BOTH, e.negotiated().families());
  }

  @Test
  void holdTimeIsTheSmallerOneAndKeepaliveAThirdOfIt() {
    Negotiated n = ((OpenConfirm) openConfirm(9).state()).negotiated();
    assertEquals(Duration.ofSeconds(9), n.holdTime());
    assertEquals(Duration.ofSeconds(3), n.keepalive());
  }

  @Test
  void configuredKeepaliveWinsWhenShorterThanAThird() {
    Negotiated n = ((OpenConfirm) openConfirm(180).state()).negotiated();
    assertEquals(Duration.ofSeconds(90), n.holdTime());
    assertEquals(Duration.ofSeconds(30), n.keepalive());
  }

  @Test
  void holdTimeZeroRunsNoHoldOrKeepaliveTimers() {
    BgpSession s = established(0);
    assertFalse(s.timerRunning(Timer.HOLD));
    assertFalse(s.timerRunning(Timer.KEEPALIVE));
    ticker.advanceSeconds(3600);
    assertInstanceOf(Established.class, s.state());
  }

  @Test
  void familiesAreTheIntersection() {
    BgpSession s = openSent();
    s.handle(new Received(Open.ours(PEER_AS, 90, ip("10.0.0.2"), Set.of(Family.IPV6_UNICAST))));
    assertEquals(Set.of(Family.IPV6_UNICAST), ((OpenConfirm) s.state()).negotiated().families());
  }

  // ---- hold timer expiry in every state -------------------------------------------------

  @Test
  void holdTimerExpiryInIdleIsIgnored() {
    BgpSession s = session(config(false, 90));
    s.handle(new TimerExpired(Timer.HOLD));
    assertInstanceOf(Idle.class, s.state());
    assertTrue(io.sent.isEmpty());
  }

  @Test
  void holdTimerExpiryInConnectGoesIdleAndRestartsAfterTheBackoff() {
    BgpSession s = session(config(false, 90));
    s.handle(new Start());
    s.handle(new TimerExpired(Timer.HOLD)); // RFC 4271 §8.2.2 Connect: "any other event"
    assertInstanceOf(Idle.class, s.state());
    assertTrue(io.sent.isEmpty());
    assertTrue(s.timerRunning(Timer.IDLE_HOLD));
    ticker.advanceSeconds(1);
    assertInstanceOf(Connect.class, s.state());
    assertEquals(2, io.connects);
  }

  @Test
  void holdTimerExpiryInActiveGoesIdle() {
    BgpSession s = session(config(true, 90));
    s.handle(new Start());
    assertInstanceOf(Active.class, s.state());
    s.handle(new TimerExpired(Timer.HOLD));
    assertInstanceOf(Idle.class, s.state());
    assertTrue(io.sent.isEmpty());
  }

  @Test
  void holdTimerExpiresInOpenSentAfterFourMinutes() {
    BgpSession s = openSent();
    ticker.advance(SessionConfig.LARGE_HOLD.minusSeconds(1));
    assertInstanceOf(OpenSent.class, s.state());
    ticker.advanceSeconds(1);
    assertInstanceOf(Idle.class, s.state());
    assertEquals(new Notification(4, 0), lastNotification());
    assertEquals(List.of("hold timer expired in OpenSent"), listener.down);
  }

  @Test
  void holdTimerExpiresInOpenConfirmDespiteOurKeepalives() {
    BgpSession s = openConfirm(30);
    ticker.advanceSeconds(29);
    assertEquals(3, io.sent(Keepalive.class).size()); // one on OPEN, then every 10 s
    ticker.advanceSeconds(1);
    assertInstanceOf(Idle.class, s.state());
    assertEquals(new Notification(4, 0), lastNotification());
  }

  @Test
  void holdTimerInEstablishedIsRestartedByKeepaliveAndUpdateAndExpiresWithoutThem() {
    BgpSession s = established(30);
    ticker.advanceSeconds(25);
    s.handle(new Received(Keepalive.INSTANCE));
    ticker.advanceSeconds(25);
    s.handle(new Received(Update.withdraw(List.of())));
    ticker.advanceSeconds(29);
    assertInstanceOf(Established.class, s.state());
    ticker.advanceSeconds(1);
    assertInstanceOf(Idle.class, s.state());
    assertEquals(new Notification(4, 0), lastNotification());
    assertEquals(1, listener.down.size());
  }

  @Test
  void keepalivesAreSentEveryInterval() {
    established(30);
    int before = io.sent(Keepalive.class).size();
    ticker.advanceSeconds(100); // peer's KEEPALIVEs are not simulated: hold expires at 30 s
    assertEquals(before + 2, io.sent(Keepalive.class).size());
  }

  // ---- OPEN checks ---------------------------------------------------------------------------

  @Test
  void wrongPeerAsIsBadPeerAs() {
    BgpSession s = openSent();
    s.handle(new Received(Open.ours(65999, 90, ip("10.0.0.2"), BOTH)));
    assertInstanceOf(Idle.class, s.state());
    assertEquals(new Notification(2, 2), lastNotification());
  }

  @Test
  void holdTimeOfTwoIsUnacceptable() {
    BgpSession s = openSent();
    s.handle(new Received(Open.ours(PEER_AS, 2, ip("10.0.0.2"), BOTH)));
    assertEquals(new Notification(2, 6), lastNotification());
  }

  @Test
  void peerWithoutFourOctetAsIsRefused() {
    BgpSession s = openSent();
    s.handle(new Received(new Open(PEER_AS, 90, ip("10.0.0.2"), BOTH, false, true)));
    assertEquals(new Notification(2, 7), lastNotification());
  }

  @Test
  void zeroBgpIdentifierIsBadBgpIdentifier() {
    BgpSession s = openSent();
    s.handle(new Received(Open.ours(PEER_AS, 90, ip("0.0.0.0"), BOTH)));
    assertEquals(new Notification(2, 3), lastNotification());
  }

  // ---- other transitions --------------------------------------------------------------------

  @Test
  void keepaliveInOpenSentIsAnFsmError() {
    BgpSession s = openSent();
    s.handle(new Received(Keepalive.INSTANCE));
    assertEquals(new Notification(5, 1), lastNotification());
    assertInstanceOf(Idle.class, s.state());
  }

  @Test
  void updateInOpenConfirmIsAnFsmError() {
    BgpSession s = openConfirm(90);
    s.handle(new Received(Update.withdraw(List.of())));
    assertEquals(new Notification(5, 2), lastNotification());
  }

  @Test
  void openInEstablishedIsAnFsmError() {
    BgpSession s = established(90);
    s.handle(new Received(peerOpen(90)));
    assertEquals(new Notification(5, 3), lastNotification());
  }

  @Test
  void malformedMessageSendsTheCodecsNotification() {
    BgpSession s = established(90);
    s.handle(new Malformed(new Notification(3, 1), "bad"));
    assertEquals(new Notification(3, 1), lastNotification());
    assertInstanceOf(Idle.class, s.state());
  }

  @Test
  void receivedNotificationIsNotAnswered() {
    BgpSession s = established(90);
    int sent = io.sent.size();
    s.handle(new Received(new Notification(6, 9)));
    assertInstanceOf(Idle.class, s.state());
    assertEquals(sent, io.sent.size());
    assertEquals(1, io.disconnects);
  }

  @Test
  void treatAsWithdrawUpdateKeepsTheSession() {
    BgpSession s = established(90);
    s.handle(
        new Received(
            new Update(List.of(), List.of(), Optional.empty(), Optional.of("bad COMMUNITIES"))));
    assertInstanceOf(Established.class, s.state());
  }

  @Test
  void manualStopSendsCeaseWithTheShutdownMessageAndStaysIdle() {
    BgpSession s = established(90);
    s.handle(new Stop("node drained"));
    Notification n = lastNotification();
    assertEquals(6, n.code());
    assertEquals(2, n.subcode());
    assertEquals(Optional.of("node drained"), n.shutdownMessage());
    assertFalse(s.timerRunning(Timer.IDLE_HOLD));
    ticker.advanceSeconds(3600);
    assertInstanceOf(Idle.class, s.state());
    assertEquals(1, io.connects);
  }

  @Test
  void routeRefreshForANegotiatedFamilyIsPassedOnOthersIgnored() {
    BgpSession s = established(90);
    s.handle(new Received(RouteRefresh.of(Family.IPV6_UNICAST)));
    s.handle(new Received(new RouteRefresh(25, 70))); // L2VPN EVPN: not negotiated
    assertEquals(List.of(Family.IPV6_UNICAST), listener.refreshes);
    assertInstanceOf(Established.class, s.state());
  }

  @Test
  void passivePeerNeverConnectsAndAcceptsTheConnection() {
    BgpSession s = session(config(true, 90));
    s.handle(new Start());
    assertInstanceOf(Active.class, s.state());
    ticker.advanceSeconds(3600);
    assertEquals(0, io.connects);
    s.handle(new Connected(true));
    assertInstanceOf(OpenSent.class, s.state());
  }

  @Test
  void failedConnectGoesActiveAndRetriesAfterConnectRetry() {
    BgpSession s = session(config(false, 90));
    s.handle(new Start());
    s.handle(new ConnectionLost("refused"));
    assertInstanceOf(Active.class, s.state());
    ticker.advanceSeconds(120);
    assertInstanceOf(Connect.class, s.state());
    assertEquals(2, io.connects);
  }

  @Test
  void connectionLostInOpenSentListensAgain() {
    BgpSession s = openSent();
    s.handle(new ConnectionLost("reset"));
    assertInstanceOf(Active.class, s.state());
    assertTrue(s.timerRunning(Timer.CONNECT_RETRY));
  }

  @Test
  void connectionInIdleIsRefused() {
    BgpSession s = session(config(false, 90));
    s.handle(new Connected(true));
    assertInstanceOf(Idle.class, s.state());
    assertEquals(1, io.disconnects);
  }

  @Test
  void backoffDoublesPerFailureUntilEstablishedResetsIt() {
    BgpSession s = established(30);
    ticker.advanceSeconds(30); // hold expiry: failure 1
    assertEquals(1, s.failures());
    ticker.advanceSeconds(1); // 1 s backoff
    assertInstanceOf(Connect.class, s.state());
    s.handle(new ConnectionLost("refused"));
    s.handle(new TimerExpired(Timer.HOLD)); // Active: any other event → Idle, failure 2
    assertEquals(2, s.failures());
    ticker.advance(Duration.ofMillis(1999));
    assertInstanceOf(Idle.class, s.state());
    ticker.advance(Duration.ofMillis(1));
    assertInstanceOf(Connect.class, s.state());
    s.handle(new Connected(false));
    s.handle(new Received(peerOpen(90)));
    s.handle(new Received(Keepalive.INSTANCE));
    assertEquals(0, s.failures());
  }
}
