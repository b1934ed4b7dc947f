package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.fsm.SessionState.Established;
import dev.vipgress.speaker.bgp.fsm.SessionState.OpenConfirm;
import java.util.Optional;

/**
 * The up to two connections to one peer while a collision is possible (RFC 4271 §6.8): the session
 * we drive ({@code outbound}, which may also adopt an inbound connection while it has none) and a
 * second one for a connection the peer opens while ours is already past Active. When either
 * receives a valid OPEN while the other is in OpenConfirm, the BGP identifiers decide which closes
 * with Cease 7; a new connection colliding with an Established one always loses.
 */
public final class PeerSessions {
  private final BgpSession outbound;
  private BgpSession inbound;

  /**
   * @param outbound the peer's main session, built with {@link #guard(boolean, SessionListener)} as
   *     its listener
   */
  public PeerSessions(BgpSession outbound) {
    this.outbound = outbound;
  }

  public BgpSession outbound() {
    return outbound;
  }

  public Optional<BgpSession> inbound() {
    return Optional.ofNullable(inbound);
  }

  /** Registers the session of a second, peer-initiated connection (built with {@link #guard}). */
  public void inbound(BgpSession session) {
    this.inbound = session;
  }

  /** Wraps a session's listener so that its OPEN is checked against the other connection. */
  public SessionListener guard(boolean isInbound, SessionListener delegate) {
    return new SessionListener() {
      @Override
      public void established(Negotiated negotiated) {
        delegate.established(negotiated);
      }

      @Override
      public void down(String reason, Optional<dev.vipgress.speaker.bgp.codec.Notification> n) {
        delegate.down(reason, n);
      }

      @Override
      public void routeRefresh(dev.vipgress.speaker.bgp.codec.Family family) {
        delegate.routeRefresh(family);
      }

      @Override
      public boolean openReceived(Negotiated negotiated) {
        return PeerSessions.this.openReceived(isInbound, negotiated);
      }
    };
  }

  private boolean openReceived(boolean isInbound, Negotiated negotiated) {
    BgpSession other = isInbound ? outbound : inbound;
    if (other == null) {
      return true;
    }
    SessionState s = other.state();
    if (s instanceof Established) {
      return false; // §6.8: the newly created connection is closed
    }
    if (!(s instanceof OpenConfirm oc)) {
      return true; // the other has no OPEN yet: it will be checked when its OPEN arrives
    }
    CollisionDetection.Keep keep =
        CollisionDetection.resolve(negotiated.localId(), oc.negotiated().peer().bgpIdentifier());
    boolean thisSurvives = (keep == CollisionDetection.Keep.INBOUND) == isInbound;
    if (thisSurvives) {
      other.handle(new SessionEvent.CollisionLost());
    }
    return thisSurvives;
  }
}
