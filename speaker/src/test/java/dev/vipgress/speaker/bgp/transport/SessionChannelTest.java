package dev.vipgress.speaker.bgp.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.bgp.codec.BgpFramer;
import dev.vipgress.speaker.bgp.codec.BgpMessage;
import dev.vipgress.speaker.bgp.codec.BgpMessageDecoder;
import dev.vipgress.speaker.bgp.codec.BgpMessageEncoder;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Keepalive;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.Open;
import dev.vipgress.speaker.bgp.fsm.Backoff;
import dev.vipgress.speaker.bgp.fsm.BgpSession;
import dev.vipgress.speaker.bgp.fsm.SessionConfig;
import dev.vipgress.speaker.bgp.fsm.SessionEvent;
import dev.vipgress.speaker.bgp.fsm.SessionListener;
import dev.vipgress.speaker.bgp.fsm.SessionState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A session on the real pipeline (EventLoopTicker as its clock). */
class SessionChannelTest {
  private final EmbeddedChannel ch = new EmbeddedChannel();
  private BgpSession session;

  private static byte[] encode(BgpMessage m) {
    ByteBuf b = Unpooled.buffer();
    BgpMessageEncoder.encode(m, b);
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    b.release();
    return out;
  }

  private List<BgpMessage> sent() {
    EmbeddedChannel dec = new EmbeddedChannel(new BgpFramer(), new BgpMessageDecoder());
    for (Object o; (o = ch.readOutbound()) != null; ) {
      dec.writeInbound(o);
    }
    List<BgpMessage> out = new ArrayList<>();
    for (Object m; (m = dec.readInbound()) != null; ) {
      out.add((BgpMessage) m);
    }
    return out;
  }

  private void establish() throws Exception {
    SessionConfig config =
        new SessionConfig(
            65011,
            64512,
            (Inet4Address) InetAddress.getByName("192.168.100.11"),
            Duration.ofSeconds(9),
            Duration.ofSeconds(30),
            Set.of(Family.IPV4_UNICAST),
            true,
            Duration.ofSeconds(120),
            Backoff.DEFAULT);
    SessionChannel io = new SessionChannel("router", Optional.empty(), Optional.empty());
    session =
        new BgpSession(
            "router",
            config,
            io,
            new EventLoopTicker(ch.eventLoop()),
            SessionListener.NONE,
            () -> 0.0);
    io.session(session);
    session.handle(new SessionEvent.Start());
    io.attach(ch, true);
    ch.writeInbound(
        Unpooled.wrappedBuffer(
            encode(
                Open.ours(
                    64512,
                    9,
                    (Inet4Address) InetAddress.getByName("192.168.100.1"),
                    Set.of(Family.IPV4_UNICAST)))));
    ch.writeInbound(Unpooled.wrappedBuffer(encode(Keepalive.INSTANCE)));
    assertInstanceOf(SessionState.Established.class, session.state());
    List<BgpMessage> handshake = sent();
    assertInstanceOf(Open.class, handshake.get(0));
    assertEquals(Keepalive.INSTANCE, handshake.get(1));
  }

  @Test
  void peerClosingTheConnectionEndsTheSession() throws Exception {
    establish();
    ch.close().syncUninterruptibly();
    assertInstanceOf(SessionState.Idle.class, session.state());
    assertTrue(sent().isEmpty());
  }

  @Test
  void headerErrorIsAnsweredWithItsNotificationAndTheConnectionClosed() throws Exception {
    establish();
    byte[] bad = encode(Keepalive.INSTANCE);
    bad[18] = 9;
    ch.writeInbound(Unpooled.wrappedBuffer(bad));
    assertEquals(List.of(new Notification(1, 3, new byte[] {9})), sent());
    assertFalse(ch.isActive());
  }
}
