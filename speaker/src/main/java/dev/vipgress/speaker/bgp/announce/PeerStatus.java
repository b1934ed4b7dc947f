package dev.vipgress.speaker.bgp.announce;

/**
 * One configured peer as {@code /status} and the metrics show it.
 *
 * @param peer {@code address:port}
 * @param state the FSM state (Idle, Connect, Active, OpenSent, OpenConfirm, Established)
 * @param uptimeSeconds time in Established (0 when not)
 * @param flaps how often the session left Established
 * @param prefixes host routes advertised on it now
 * @param lastError why the session last ended (with the NOTIFICATION code), or why it cannot start
 */
public record PeerStatus(
    String peer,
    String state,
    long peerAsn,
    long localAsn,
    long uptimeSeconds,
    int flaps,
    int prefixes,
    String lastError) {
  public boolean established() {
    return "Established".equals(state);
  }
}
