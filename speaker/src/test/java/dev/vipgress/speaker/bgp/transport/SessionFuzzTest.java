package dev.vipgress.speaker.bgp.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import dev.vipgress.speaker.bgp.codec.BgpFramer;
import dev.vipgress.speaker.bgp.codec.BgpMessage;
import dev.vipgress.speaker.bgp.codec.BgpMessageDecoder;
import dev.vipgress.speaker.bgp.codec.BgpMessageEncoder;
import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Keepalive;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.codec.Open;
import dev.vipgress.speaker.bgp.codec.PathAttributes;
import dev.vipgress.speaker.bgp.codec.Prefix;
import dev.vipgress.speaker.bgp.codec.RouteRefresh;
import dev.vipgress.speaker.bgp.codec.Update;
import dev.vipgress.speaker.bgp.fsm.Backoff;
import dev.vipgress.speaker.bgp.fsm.BgpSession;
import dev.vipgress.speaker.bgp.fsm.SessionConfig;
import dev.vipgress.speaker.bgp.fsm.SessionListener;
import dev.vipgress.speaker.bgp.fsm.SessionState;
import dev.vipgress.speaker.bgp.fsm.Ticker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * 100,000 mutated and random messages, each at an Established session behind the real pipeline
 * (framer, decoder, encoder, session) on an {@link EmbeddedChannel}. Each must be answered as RFC
 * 4271 / RFC 7606 say: a bad header with exactly the §6.1 NOTIFICATION, a bad OPEN with an OPEN
 * error (or the FSM error for an OPEN in Established), an UPDATE only ever with an UPDATE error (or
 * none: treat-as-withdraw, attribute-discard), a NOTIFICATION by closing without an answer,
 * KEEPALIVE and ROUTE-REFRESH by staying up. Nothing may be thrown out of the pipeline.
 */
class SessionFuzzTest {
  private static final int RUNS = 100_000;
  private static final long PEER_AS = 64512;

  private static final Ticker NO_TIME =
      new Ticker() {
        @Override
        public Scheduled schedule(Duration delay, Runnable task) {
          return () -> {};
        }

        @Override
        public long nanoTime() {
          return 0;
        }
      };

  private static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static final SessionConfig CONFIG =
      new SessionConfig(
          4_200_000_011L,
          PEER_AS,
          (Inet4Address) ip("10.0.0.1"),
          Duration.ofSeconds(90),
          Duration.ofSeconds(30),
          Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST),
          true,
          Duration.ofSeconds(120),
          Backoff.DEFAULT);

  private static byte[] encode(BgpMessage m) {
    ByteBuf b = Unpooled.buffer();
    BgpMessageEncoder.encode(m, b);
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    b.release();
    return out;
  }

  private static final byte[] PEER_OPEN =
      encode(
          Open.ours(
              PEER_AS,
              90,
              (Inet4Address) ip("10.0.0.2"),
              Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST)));
  private static final byte[] KEEPALIVE = encode(Keepalive.INSTANCE);

  private static List<byte[]> seeds() {
    PathAttributes attrs =
        new PathAttributes(
            List.of(64512L, 4_200_000_001L),
            Optional.of((Inet4Address) ip("192.0.2.2")),
            Optional.of((Inet6Address) ip("2001:db8::2")),
            List.of(new Community(64512, 100), new Community(65535, 65281)),
            List.of(new LargeCommunity(64512, 1, 2)));
    return List.of(
        PEER_OPEN,
        KEEPALIVE,
        encode(Notification.shutdown("maintenance")),
        encode(RouteRefresh.of(Family.IPV4_UNICAST)),
        encode(
            Update.announce(
                List.of(Prefix.host(ip("198.51.100.7")), new Prefix(ip("10.1.0.0"), 16)), attrs)),
        encode(Update.announce(List.of(Prefix.host(ip("2001:db8:1::7"))), attrs)),
        encode(
            Update.withdraw(
                List.of(Prefix.host(ip("198.51.100.7")), Prefix.host(ip("2001:db8:1::7"))))),
        encode(Update.withdraw(List.of())));
  }

  private record Outcome(SessionState state, List<Notification> sent, boolean open) {}

  private static Outcome run(byte[] input) {
    EmbeddedChannel ch = new EmbeddedChannel();
    SessionChannel io = new SessionChannel("fuzz", Optional.empty(), Optional.empty());
    BgpSession s = new BgpSession("fuzz", CONFIG, io, NO_TIME, SessionListener.NONE, () -> 0.0);
    io.session(s);
    s.handle(new dev.vipgress.speaker.bgp.fsm.SessionEvent.Start());
    io.attach(ch, true);
    ch.writeInbound(Unpooled.wrappedBuffer(PEER_OPEN));
    ch.writeInbound(Unpooled.wrappedBuffer(KEEPALIVE));
    assertInstanceOf(SessionState.Established.class, s.state());
    drain(ch);
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input));
      ch.runPendingTasks();
      ch.checkException();
    } catch (Throwable t) {
      fail("thrown out of the pipeline for " + hex(input), t);
    }
    Outcome o = new Outcome(s.state(), drain(ch), ch.isActive());
    ch.finishAndReleaseAll();
    return o;
  }

  private static List<Notification> drain(EmbeddedChannel ch) {
    List<Notification> sent = new ArrayList<>();
    EmbeddedChannel dec = new EmbeddedChannel(new BgpFramer(), new BgpMessageDecoder());
    for (Object o; (o = ch.readOutbound()) != null; ) {
      dec.writeInbound(o);
    }
    for (Object m; (m = dec.readInbound()) != null; ) {
      if (m instanceof Notification n) {
        sent.add(n);
      }
    }
    return sent;
  }

  private static String hex(byte[] b) {
    return java.util.HexFormat.of().formatHex(b);
  }

  // ---- the expectation, from the header alone (independent of the code under test) ----------

  private sealed interface Expect {}

  private record StaysUp() implements Expect {}

  private record Reset(Notification n) implements Expect {}

  private record ResetWithCode(Set<String> allowed) implements Expect {}

  private record UpdateOutcome() implements Expect {}

  private record ClosedSilently() implements Expect {}

  private static Expect expect(byte[] in) {
    int pos = 0;
    while (in.length - pos >= 19) {
      for (int i = 0; i < 16; i++) {
        if (in[pos + i] != (byte) 0xff) {
          return new Reset(new Notification(1, 1));
        }
      }
      int len = ((in[pos + 16] & 0xff) << 8) | (in[pos + 17] & 0xff);
      int type = in[pos + 18] & 0xff;
      byte[] lenBytes = {in[pos + 16], in[pos + 17]};
      if (type < 1 || type > 5) {
        return new Reset(new Notification(1, 3, new byte[] {(byte) type}));
      }
      if (type == 5 && len != 23) {
        return new Reset(new Notification(7, 1, lenBytes));
      }
      int min =
          switch (type) {
            case 1 -> 29;
            case 2 -> 23;
            case 3 -> 21;
            default -> 19;
          };
      int max = type == 4 ? 19 : 4096;
      if (len < min || len > max) {
        return new Reset(new Notification(1, 2, lenBytes));
      }
      if (in.length - pos < len) {
        return new StaysUp(); // incomplete: waits for more
      }
      switch (type) {
        case 1 -> {
          return new ResetWithCode(Set.of("2/*", "5/3"));
        }
        case 2 -> {
          return new UpdateOutcome(); // later frames are not predicted
        }
        case 3 -> {
          return new ClosedSilently();
        }
        default -> pos += len;
      }
    }
    return new StaysUp();
  }

  // ---- mutations ------------------------------------------------------------------------------

  private static byte[] fixLength(byte[] m) {
    if (m.length >= 19 && m.length <= 0xffff) {
      m[16] = (byte) (m.length >> 8);
      m[17] = (byte) m.length;
    }
    return m;
  }

  private static byte[] mutate(byte[] seed, SplittableRandom r) {
    byte[] m = seed.clone();
    switch (r.nextInt(8)) {
      case 0 -> { // flip bytes in the body, header intact
        for (int i = 0, n = 1 + r.nextInt(4); i < n && m.length > 19; i++) {
          m[19 + r.nextInt(m.length - 19)] = (byte) r.nextInt(256);
        }
      }
      case 1 -> { // flip bytes anywhere
        for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) {
          m[r.nextInt(m.length)] = (byte) r.nextInt(256);
        }
      }
      case 2 -> m = fixLength(Arrays.copyOf(m, 19 + r.nextInt(Math.max(1, m.length - 18))));
      case 3 -> {
        byte[] extra = new byte[1 + r.nextInt(40)];
        r.nextBytes(extra);
        byte[] n = Arrays.copyOf(m, m.length + extra.length);
        System.arraycopy(extra, 0, n, m.length, extra.length);
        m = fixLength(n);
      }
      case 4 -> m = insertAttribute(m, r);
      case 5 -> { // a field's length octet/short off by a little, lengths kept coherent
        if (m.length > 22) {
          int i = 19 + r.nextInt(m.length - 19);
          m[i] = (byte) (m[i] + (r.nextBoolean() ? 1 : -1));
        }
      }
      case 6 -> { // random body behind a valid marker and a random type
        byte[] body = new byte[r.nextInt(60)];
        r.nextBytes(body);
        m = new byte[19 + body.length];
        Arrays.fill(m, 0, 16, (byte) 0xff);
        m[18] = (byte) (1 + r.nextInt(5));
        System.arraycopy(body, 0, m, 19, body.length);
        m = fixLength(m);
      }
      default -> { // plain noise
        m = new byte[1 + r.nextInt(80)];
        r.nextBytes(m);
      }
    }
    return m;
  }

  /** Adds a random attribute to an UPDATE and keeps every length coherent. */
  private static byte[] insertAttribute(byte[] m, SplittableRandom r) {
    if (m.length < 23 || m[18] != 2) {
      return m;
    }
    int wl = ((m[19] & 0xff) << 8) | (m[20] & 0xff);
    int alAt = 21 + wl;
    if (alAt + 2 > m.length) {
      return m;
    }
    int al = ((m[alAt] & 0xff) << 8) | (m[alAt + 1] & 0xff);
    int type =
        r.nextInt(5) == 0
            ? r.nextInt(256)
            : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 32}[r.nextInt(11)];
    int flags = r.nextInt(256) & 0xf0;
    byte[] value = new byte[r.nextInt(30)];
    r.nextBytes(value);
    boolean ext = (flags & 0x10) != 0;
    byte[] attr = new byte[(ext ? 4 : 3) + value.length];
    attr[0] = (byte) flags;
    attr[1] = (byte) type;
    if (ext) {
      attr[2] = 0;
      attr[3] = (byte) value.length;
    } else {
      attr[2] = (byte) value.length;
    }
    System.arraycopy(value, 0, attr, attr.length - value.length, value.length);
    int at = alAt + 2 + (al == 0 ? 0 : r.nextInt(2) * al);
    byte[] n = new byte[m.length + attr.length];
    System.arraycopy(m, 0, n, 0, at);
    System.arraycopy(attr, 0, n, at, attr.length);
    System.arraycopy(m, at, n, at + attr.length, m.length - at);
    int nal = al + attr.length;
    n[alAt] = (byte) (nal >> 8);
    n[alAt + 1] = (byte) nal;
    return fixLength(n);
  }

  /** 100,000 sessionDown lines would drown the build log; the outcomes are tallied instead. */
  private static final List<String> QUIET = List.of("dev.vipgress.speaker.bgp", "org.opendaylight");

  @BeforeAll
  static void quiet() {
    for (String name : QUIET) {
      ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(name)).setLevel(Level.ERROR);
    }
  }

  @AfterAll
  static void loud() {
    for (String name : QUIET) {
      ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(name)).setLevel(null);
    }
  }

  @Test
  void everyMutatedOrRandomMessageIsAnsweredPerTheRfcsAndNothingEscapes() {
    List<byte[]> seeds = seeds();
    SplittableRandom r = new SplittableRandom(20261203L);
    TreeMap<String, Integer> tally = new TreeMap<>();
    for (int i = 0; i < RUNS; i++) {
      byte[] input = mutate(seeds.get(r.nextInt(seeds.size())), r);
      Expect e = expect(input);
      Outcome o = run(input);
      String what = hex(input);
      switch (e) {
        case StaysUp s -> {
          assertInstanceOf(SessionState.Established.class, o.state(), what);
          assertEquals(List.of(), o.sent(), what);
        }
        case Reset x -> {
          assertEquals(List.of(x.n()), o.sent(), what);
          assertFalse(o.open(), what);
        }
        case ResetWithCode x -> {
          assertEquals(1, o.sent().size(), what);
          Notification n = o.sent().get(0);
          assertTrue(
              x.allowed().contains(n.code() + "/*")
                  || x.allowed().contains(n.code() + "/" + n.subcode()),
              n + " for " + what);
          assertFalse(o.open(), what);
        }
        case UpdateOutcome u -> {
          if (o.state() instanceof SessionState.Established) {
            assertEquals(List.of(), o.sent(), what);
          } else {
            // a later frame in the same input may have been anything; the first reset must be
            // an UPDATE error when the UPDATE itself was the culprit
            assertFalse(o.sent().isEmpty() && o.sent().get(0).code() == 6, what);
            assertFalse(o.open(), what);
          }
        }
        case ClosedSilently c -> {
          assertInstanceOf(SessionState.Idle.class, o.state(), what);
          assertEquals(List.of(), o.sent(), what);
          assertFalse(o.open(), what);
        }
      }
      String k =
          o.sent().isEmpty()
              ? (o.state() instanceof SessionState.Established ? "up" : "closed")
              : "notification " + o.sent().get(0).code() + "/" + o.sent().get(0).subcode();
      tally.merge(k, 1, Integer::sum);
    }
    System.out.println("SessionFuzzTest outcomes over " + RUNS + " inputs: " + tally);
    assertTrue(tally.getOrDefault("up", 0) > RUNS / 10, tally.toString());
  }
}
