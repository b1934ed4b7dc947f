package dev.vipgress.speaker.bgp.transport;

import dev.vipgress.speaker.bgp.codec.BgpFramer;
import dev.vipgress.speaker.bgp.codec.BgpMessage;
import dev.vipgress.speaker.bgp.codec.BgpMessageDecoder;
import dev.vipgress.speaker.bgp.codec.BgpMessageEncoder;
import dev.vipgress.speaker.bgp.codec.BgpProtocolException;
import dev.vipgress.speaker.bgp.codec.Notification;
import dev.vipgress.speaker.bgp.fsm.BgpSession;
import dev.vipgress.speaker.bgp.fsm.SessionEvent;
import dev.vipgress.speaker.bgp.fsm.SessionIo;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds one {@link BgpSession} to its current netty channel: the session's {@link SessionIo}, and
 * the pipeline's last handler, turning reads, decode errors and closes into {@link SessionEvent}s.
 * Everything runs on the channel's event loop; nothing here blocks. Events from a channel that is
 * no longer the current one (closed by the session) are dropped.
 */
public final class SessionChannel implements SessionIo {
  private static final Logger LOG = LoggerFactory.getLogger(SessionChannel.class);

  private final String peer;
  private final Optional<Bootstrap> bootstrap;
  private final Optional<SocketAddress> remote;
  private Supplier<BgpSession> session = () -> null;
  private Channel channel;

  /**
   * @param bootstrap for outbound connections (empty: passive only), its handler is ignored: the
   *     pipeline is set up by {@link #attach}
   */
  public SessionChannel(
      String peer, Optional<Bootstrap> bootstrap, Optional<SocketAddress> remote) {
    this.peer = peer;
    this.bootstrap = bootstrap;
    this.remote = remote;
  }

  /** The session this channel serves (set once, after both are built). */
  public void session(BgpSession s) {
    this.session = () -> s;
  }

  /** Installs the codec and this session on a connected channel and tells the session. */
  public void attach(Channel ch, boolean inbound) {
    channel = ch;
    ChannelPipeline p = ch.pipeline();
    p.addLast("framer", new BgpFramer());
    p.addLast("decoder", new BgpMessageDecoder());
    p.addLast("encoder", new BgpMessageEncoder());
    p.addLast("session", new Handler(ch));
    session.get().handle(new SessionEvent.Connected(inbound));
  }

  @Override
  public void connect() {
    if (bootstrap.isEmpty() || remote.isEmpty()) {
      session.get().handle(new SessionEvent.ConnectionLost("no outbound connection configured"));
      return;
    }
    bootstrap
        .get()
        .clone()
        .handler(new ChannelInboundHandlerAdapter())
        .connect(remote.get())
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (f.isSuccess()) {
                    attach(f.channel(), false);
                  } else {
                    session
                        .get()
                        .handle(new SessionEvent.ConnectionLost(String.valueOf(f.cause())));
                  }
                });
  }

  @Override
  public void send(BgpMessage message) {
    var unused = write(message);
  }

  /**
   * Sends {@code message}; the future completes once it is in the socket (written to the kernel),
   * or failed. Without a connection it is complete at once: there is nobody to tell.
   */
  public Future<?> write(BgpMessage message) {
    Channel ch = channel;
    if (ch == null || !ch.isActive()) {
      return ImmediateEventExecutor.INSTANCE.newSucceededFuture(null);
    }
    return ch.writeAndFlush(message).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
  }

  /** This end's address of the current connection, if there is one. */
  public Optional<InetSocketAddress> localAddress() {
    Channel ch = channel;
    return ch != null && ch.localAddress() instanceof InetSocketAddress a
        ? Optional.of(a)
        : Optional.empty();
  }

  @Override
  public void disconnect() {
    Channel ch = channel;
    channel = null;
    if (ch != null) {
      // after what was sent (a NOTIFICATION) has been flushed
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    private final Channel mine;

    Handler(Channel mine) {
      this.mine = mine;
    }

    private boolean current() {
      return channel == mine;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (current() && msg instanceof BgpMessage m) {
        session.get().handle(new SessionEvent.Received(m));
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (!current()) {
        return;
      }
      if (cause instanceof BgpProtocolException e) {
        session.get().handle(new SessionEvent.Malformed(e.notification(), e.getMessage()));
        return;
      }
      // a bug or an I/O error: this session ends, nothing else is touched
      LOG.atWarn().addKeyValue("peer", peer).setCause(cause).log("sessionError");
      session
          .get()
          .handle(new SessionEvent.Malformed(new Notification(6, 0), String.valueOf(cause)));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (current()) {
        channel = null;
        session.get().handle(new SessionEvent.ConnectionLost("connection closed"));
      }
    }
  }
}
