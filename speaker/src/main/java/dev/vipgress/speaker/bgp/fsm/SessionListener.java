package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Notification;
import java.util.Optional;

/** What the rest of the speaker learns from a session; called on the session's thread. */
public interface SessionListener {
  void established(Negotiated negotiated);

  /**
   * The session left Established, OpenConfirm or OpenSent.
   *
   * @param notification the NOTIFICATION sent or received, if any
   */
  void down(String reason, Optional<Notification> notification);

  /** The peer asked for our routes of this negotiated family again (RFC 2918 §4). */
  void routeRefresh(Family family);

  /**
   * A valid OPEN arrived: may this connection go on? The peer level answers from the other
   * connection to the same peer (RFC 4271 §6.8). Default: yes.
   */
  default boolean openReceived(Negotiated negotiated) {
    return true;
  }

  SessionListener NONE =
      new SessionListener() {
        @Override
        public void established(Negotiated negotiated) {}

        @Override
        public void down(String reason, Optional<Notification> notification) {}

        @Override
        public void routeRefresh(Family family) {}
      };
}
