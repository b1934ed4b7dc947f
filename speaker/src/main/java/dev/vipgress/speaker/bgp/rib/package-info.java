/**
 * What each session advertises, pure: {@link dev.vipgress.speaker.bgp.rib.RibOut#wanted} maps the
 * VIPs this node owns to the host routes a session carries (by its negotiated families and next
 * hops), {@link dev.vipgress.speaker.bgp.rib.RibOut#next} turns that into the UPDATEs to send as a
 * diff against what the session was sent, and {@link dev.vipgress.speaker.bgp.rib.RibOut#refresh}
 * answers a ROUTE-REFRESH.
 */
package dev.vipgress.speaker.bgp.rib;
