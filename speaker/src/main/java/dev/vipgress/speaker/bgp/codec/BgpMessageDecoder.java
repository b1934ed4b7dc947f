package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MARKER_LENGTH;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns one framed message ({@link BgpFramer}) into a {@link BgpMessage}. Errors that RFC 4271 /
 * RFC 7606 answer with a reset raise {@link BgpProtocolException}; an UPDATE that RFC 7606 treats
 * as withdraw comes out as an {@link Update} with {@link Update#treatAsWithdraw()} set.
 */
public final class BgpMessageDecoder extends MessageToMessageDecoder<ByteBuf> {
  public BgpMessageDecoder() {
    super(ByteBuf.class);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) {
    out.add(decode(frame));
  }

  /** Decodes a whole message, header included, whose header {@link BgpFramer} has checked. */
  public static BgpMessage decode(ByteBuf frame) {
    int start = frame.readerIndex();
    int type = frame.getUnsignedByte(start + MARKER_LENGTH + 2);
    return switch (type) {
      case BgpConstants.TYPE_KEEPALIVE -> Keepalive.INSTANCE;
      case BgpConstants.TYPE_NOTIFICATION -> notification(frame, start);
      case BgpConstants.TYPE_ROUTE_REFRESH ->
          new RouteRefresh(
              frame.getUnsignedShort(start + HEADER_LENGTH),
              frame.getUnsignedByte(start + HEADER_LENGTH + 3));
      case BgpConstants.TYPE_OPEN -> OdlCodec.parseOpen(frame.duplicate());
      case BgpConstants.TYPE_UPDATE -> update(frame);
      default -> throw new IllegalArgumentException("frame of type " + type + " passed the framer");
    };
  }

  /**
   * Parsed here, never by the codec: it throws on codes and subcodes it does not know (defect 2).
   */
  private static Notification notification(ByteBuf frame, int start) {
    int end = start + frame.readableBytes();
    byte[] data = new byte[end - start - HEADER_LENGTH - 2];
    frame.getBytes(start + HEADER_LENGTH + 2, data);
    return new Notification(
        frame.getUnsignedByte(start + HEADER_LENGTH),
        frame.getUnsignedByte(start + HEADER_LENGTH + 1),
        data);
  }

  private static Update update(ByteBuf frame) {
    UpdateValidator.Walk walk = UpdateValidator.walk(frame);
    if (walk.treatAsWithdraw().isPresent()) {
      return treatAsWithdraw(walk, walk.treatAsWithdraw().orElseThrow());
    }
    Optional<PathAttributes> attributes;
    try {
      attributes = OdlCodec.parseAttributes(frame.duplicate(), walk.largeCommunities());
    } catch (Exception e) { // NOPMD: whatever the codec objects to costs only this UPDATE's routes
      return treatAsWithdraw(walk, "codec: " + e);
    }
    if (!walk.announced().isEmpty() && attributes.isEmpty()) {
      return treatAsWithdraw(walk, "NLRI without path attributes");
    }
    return new Update(
        walk.withdrawn(),
        walk.announced(),
        walk.announced().isEmpty() ? Optional.empty() : attributes,
        Optional.empty());
  }

  private static Update treatAsWithdraw(UpdateValidator.Walk walk, String reason) {
    List<Prefix> all = new ArrayList<>(walk.withdrawn());
    all.addAll(walk.announced());
    return new Update(all, List.of(), Optional.empty(), Optional.of(reason));
  }
}
