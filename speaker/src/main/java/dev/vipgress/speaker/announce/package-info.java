/**
 * The seam between the reconciler and the announcement protocols, one {@link
 * dev.vipgress.speaker.announce.Announcer} per protocol (L2: ARP/NDP, BGP: sessions), in the
 * MetalLB mould. An announcer only announces what it is told and only until the fencing deadline it
 * is given; election decides ownership.
 */
package dev.vipgress.speaker.announce;
