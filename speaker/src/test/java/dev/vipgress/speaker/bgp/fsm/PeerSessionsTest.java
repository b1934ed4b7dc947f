package dev.vipgress.speaker.bgp.fsm;

import static dev.vipgress.speaker.bgp.fsm.BgpSessionTest.BOTH;
import static dev.vipgress.speaker.bgp.fsm.BgpSessionTest.PEER_AS;
import static dev.vipgress.speaker.bgp.fsm.BgpSessionTest.config;
import static dev.vipgress.speaker.bgp.fsm.BgpSessionTest.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.vipgress.speaker.bgp.codec.Keepalive;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.Open;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Connected;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Received;
import dev.vipgress.speaker.bgp.fsm.SessionEvent.Start;
import dev.vipgress.speaker.bgp.fsm.SessionState.Established;
import dev.vipgress.speaker.bgp.fsm.SessionState.Idle;
import dev.vipgress.speaker.bgp.fsm.SessionState.OpenConfirm;
import dev.vipgress.speaker.bgp.fsm.SessionState.OpenSent;
import org.junit.jupiter.api.Test;

/** Connection collision detection (RFC 4271 §6.8) between two connections to one peer. */
class PeerSessionsTest {
  final FakeTicker ticker = new FakeTicker();
  final FakeIo outIo = new FakeIo();
  final FakeIo inIo = new FakeIo();
  PeerSessions peer;
  BgpSession outbound;
  BgpSession inbound;

  /** Our id is 10.0.0.1; both connections reach OpenSent. */
  void twoConnections() {
    BgpSession[] holder = new BgpSession[1];
    PeerSessions[] p = new PeerSessions[1];
    SessionListener outGuard =
        new SessionListener() {
          @Override
          public void established(Negotiated n) {}

          @Override
          public void down(String r, java.util.Optional<Notification> n) {}

          @Override
          public void routeRefresh(dev.vipgress.speaker.bgp.codec.Family f) {}

          @Override
          public boolean openReceived(Negotiated n) {
            return p[0].guard(false, SessionListener.NONE).openReceived(n);
          }
        };
    holder[0] = new BgpSession("peer", config(false, 90), outIo, ticker, outGuard, () -> 0.0);
    p[0] = new PeerSessions(holder[0]);
    peer = p[0];
    outbound = holder[0];
    inbound =
        new BgpSession(
            "peer",
            config(true, 90),
            inIo,
            ticker,
            peer.guard(true, SessionListener.NONE),
            () -> 0.0);
    peer.inbound(inbound);
    outbound.handle(new Start());
    outbound.handle(new Connected(false));
    inbound.handle(new Start());
    inbound.handle(new Connected(true));
    assertInstanceOf(OpenSent.class, outbound.state());
    assertInstanceOf(OpenSent.class, inbound.state());
  }

  static Open open(String peerId) {
    return Open.ours(PEER_AS, 90, ip(peerId), BOTH);
  }

  @Test
  void higherRemoteIdentifierKeepsTheConnectionThePeerOpened() {
    twoConnections();
    outbound.handle(new Received(open("10.0.0.2")));
    assertInstanceOf(OpenConfirm.class, outbound.state());
    inbound.handle(new Received(open("10.0.0.2")));
    assertInstanceOf(OpenConfirm.class, inbound.state());
    assertInstanceOf(Idle.class, outbound.state());
    assertEquals(new Notification(6, 7), outIo.last());
  }

  @Test
  void lowerRemoteIdentifierKeepsOurConnection() {
    twoConnections();
    outbound.handle(new Received(open("9.0.0.9")));
    inbound.handle(new Received(open("9.0.0.9")));
    assertInstanceOf(OpenConfirm.class, outbound.state());
    assertInstanceOf(Idle.class, inbound.state());
    assertEquals(new Notification(6, 7), inIo.last());
  }

  @Test
  void identifiersCompareAsUnsignedNumbers() {
    twoConnections();
    inbound.handle(new Received(open("200.0.0.1"))); // > 10.0.0.1 unsigned, < as signed int
    outbound.handle(new Received(open("200.0.0.1")));
    assertInstanceOf(OpenConfirm.class, inbound.state());
    assertInstanceOf(Idle.class, outbound.state());
  }

  @Test
  void aNewConnectionLosesAgainstAnEstablishedOne() {
    twoConnections();
    outbound.handle(new Received(open("10.0.0.2")));
    outbound.handle(new Received(Keepalive.INSTANCE));
    assertInstanceOf(Established.class, outbound.state());
    inbound.handle(new Received(open("10.0.0.2")));
    assertInstanceOf(Idle.class, inbound.state());
    assertEquals(new Notification(6, 7), inIo.last());
    assertInstanceOf(Established.class, outbound.state());
  }

  @Test
  void collisionIsOnlyResolvedOnceBothOpensAreKnown() {
    twoConnections();
    inbound.handle(new Received(open("10.0.0.2")));
    assertInstanceOf(OpenConfirm.class, inbound.state());
    assertInstanceOf(OpenSent.class, outbound.state());
  }
}
