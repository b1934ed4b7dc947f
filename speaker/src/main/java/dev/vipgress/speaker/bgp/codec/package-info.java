/**
 * The BGP-4 message codec: immutable {@link dev.vipgress.speaker.bgp.codec.BgpMessage}s, a {@link
 * dev.vipgress.speaker.bgp.codec.BgpFramer} that checks the 19-octet header, a {@link
 * dev.vipgress.speaker.bgp.codec.BgpMessageDecoder} and a {@link
 * dev.vipgress.speaker.bgp.codec.BgpMessageEncoder}, and {@link
 * dev.vipgress.speaker.bgp.codec.BgpProtocolException} carrying the NOTIFICATION a bad message
 * earns.
 *
 * <p>OPEN and UPDATE go through OpenDaylight's {@code bgp-parser-impl} + {@code bgp-inet}; only the
 * package-private {@code OdlCodec} sees its generated YANG types. Its two known defects
 * (bgp-codec.md) are contained here: unrecognized attributes never reach its shared list (a parser
 * of ours is registered for every type it lacks), and NOTIFICATIONs are parsed by us. Received
 * UPDATEs are first walked by {@code UpdateValidator}, which applies RFC 7606: only what RFC 7606
 * requires resets the session; anything the codec still objects to is treated as withdraw.
 */
package dev.vipgress.speaker.bgp.codec;
