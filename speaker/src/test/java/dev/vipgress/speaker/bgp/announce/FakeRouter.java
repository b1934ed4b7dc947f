package dev.vipgress.speaker.bgp.announce;

import dev.vipgress.speaker.bgp.codec.BgpFramer;
import dev.vipgress.speaker.bgp.codec.BgpMessage;
import dev.vipgress.speaker.bgp.codec.BgpMessageDecoder;
import dev.vipgress.speaker.bgp.codec.BgpMessageEncoder;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Keepalive;
import dev.vipgress.speaker.bgp.codec.Open;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalServerChannel;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A router on netty's in-VM transport: answers the OPEN, records what the speaker sends. */
final class FakeRouter implements AutoCloseable {
  final BlockingQueue<BgpMessage> received = new LinkedBlockingQueue<>();
  final AtomicInteger connections = new AtomicInteger();
  private final Channel server;
  private volatile Channel current;

  FakeRouter(EventLoopGroup group, LocalAddress address, long as, Set<Family> families)
      throws Exception {
    Inet4Address id = (Inet4Address) InetAddress.getByName("10.0.0.1");
    server =
        new ServerBootstrap()
            .group(group)
            .channel(LocalServerChannel.class)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(new BgpFramer(), new BgpMessageDecoder(), new BgpMessageEncoder())
                        .addLast(
                            new ChannelInboundHandlerAdapter() {
                              @Override
                              public void channelActive(ChannelHandlerContext ctx) {
                                connections.incrementAndGet();
                                current = ctx.channel();
                                var unused = ctx.writeAndFlush(Open.ours(as, 90, id, families));
                              }

                              @Override
                              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof Open) {
                                  var unused = ctx.writeAndFlush(Keepalive.INSTANCE);
                                } else if (msg instanceof BgpMessage m && m != Keepalive.INSTANCE) {
                                  received.add(m);
                                }
                              }
                            });
                  }
                })
            .bind(address)
            .sync()
            .channel();
  }

  /** The next message other than a KEEPALIVE (fails the test after 10 s without one). */
  BgpMessage next() throws InterruptedException {
    BgpMessage m = received.poll(10, TimeUnit.SECONDS);
    if (m == null) {
      throw new AssertionError("the router received nothing");
    }
    return m;
  }

  /** The connection goes away (a router restart, a cable pull). */
  void drop() {
    Channel c = current;
    if (c != null) {
      c.close().syncUninterruptibly();
    }
  }

  @Override
  public void close() {
    drop();
    server.close().syncUninterruptibly();
  }
}
