package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.Wire.attr;
import static dev.vipgress.speaker.bgp.codec.Wire.baseAttributes;
import static dev.vipgress.speaker.bgp.codec.Wire.concat;
import static dev.vipgress.speaker.bgp.codec.Wire.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.opendaylight.protocol.bgp.parser.BGPDocumentedException;
import org.opendaylight.protocol.bgp.parser.BGPError;
import org.opendaylight.protocol.bgp.parser.spi.MessageRegistry;

/**
 * The two defects of bgp-parser-impl 1.0.0 (bgp-codec.md): each test first reproduces the defect on
 * the codec as shipped, then shows our decoder is immune.
 */
class OdlCodecDefectTest {
  /** FRR sends LARGE_COMMUNITY (type 32), which the codec does not know. */
  private static final byte[] LARGE_COMMUNITY_UPDATE =
      Wire.update(
          new byte[0],
          concat(baseAttributes(), attr(0xc0, 32, hex("fa56ea01 00000001 00000002"))),
          hex("20 c6336407"));

  @Test
  void defect1SecondUpdateWithTheSameUnknownAttributeBreaksTheShippedCodec() throws Exception {
    MessageRegistry shipped = OdlCodec.registry(false);
    shipped.parseMessage(
        Unpooled.wrappedBuffer(LARGE_COMMUNITY_UPDATE), OdlCodec.revisedErrorHandling());
    BGPDocumentedException e =
        assertThrows(
            BGPDocumentedException.class,
            () ->
                shipped.parseMessage(
                    Unpooled.wrappedBuffer(LARGE_COMMUNITY_UPDATE),
                    OdlCodec.revisedErrorHandling()));
    assertEquals(BGPError.MALFORMED_ATTR_LIST, e.getError()); // NOTIFICATION 3/1: a session reset
    StringBuilder chain = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      chain.append(t.getMessage()).append('|');
    }
    assertTrue(chain.toString().contains("Multiple entries with same key"), chain.toString());
  }

  @Test
  void defect1IsContainedForEveryUnknownTypeRepeatedly() throws Exception {
    MessageRegistry ours = OdlCodec.registry(true);
    for (int type = 0; type <= 255; type++) {
      if (OdlCodec.TYPES_THE_CODEC_PARSES.contains(type)) {
        continue;
      }
      byte[] u =
          Wire.update(
              new byte[0],
              concat(baseAttributes(), attr(0xc0, type, hex("01020304"))),
              hex("20 c6336407"));
      for (int i = 0; i < 3; i++) {
        ours.parseMessage(Unpooled.wrappedBuffer(u), OdlCodec.revisedErrorHandling());
      }
    }
  }

  @Test
  void defect1ConsecutiveLargeCommunityUpdatesKeepTheSessionUp() {
    EmbeddedChannel in = new EmbeddedChannel(new BgpFramer(), new BgpMessageDecoder());
    for (int i = 0; i < 3; i++) {
      in.writeInbound(Unpooled.wrappedBuffer(LARGE_COMMUNITY_UPDATE));
      Update u = in.readInbound();
      assertTrue(u.treatAsWithdraw().isEmpty(), u.treatAsWithdraw().toString());
      assertEquals(
          List.of(new LargeCommunity(4_200_000_001L, 1, 2)),
          u.attributes().orElseThrow().largeCommunities());
    }
  }

  @Test
  void defect2UnknownNotificationCodesBreakTheShippedCodecButNotUs() {
    MessageRegistry shipped = OdlCodec.registry(false);
    // Cease/Hard Reset (RFC 8538), Cease 10, OPEN 11, FSM errors (RFC 6608)
    for (String codes : List.of("0609", "060a", "020b", "0501", "0502", "0503")) {
      byte[] msg = Wire.message(3, hex(codes));
      assertThrows(
          IllegalArgumentException.class,
          () -> shipped.parseMessage(Unpooled.wrappedBuffer(msg), null),
          codes);
      EmbeddedChannel in = new EmbeddedChannel(new BgpFramer(), new BgpMessageDecoder());
      in.writeInbound(Unpooled.wrappedBuffer(msg));
      Notification n = in.readInbound();
      assertEquals(Integer.parseInt(codes.substring(0, 2), 16), n.code());
      assertEquals(Integer.parseInt(codes.substring(2), 16), n.subcode());
    }
  }
}
