package dev.vipgress.speaker.bgp.announce;

import dev.vipgress.speaker.config.BgpConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * How sessions reach their routers: the event loop, the channel type and the socket options. The
 * daemon uses {@link #kernel()} (native epoll when it loads, for TCP MD5 and the IP TTL; else NIO);
 * tests use netty's in-VM channels.
 *
 * @param group builds the single event loop every session runs on
 * @param bootstrap a connecting bootstrap for one peer (group set by the caller), or an error that
 *     says why this peer cannot be reached with this transport (a password without epoll)
 * @param nextHops this node's addresses on a session, from its local socket address
 */
public record Transport(
    Supplier<EventLoopGroup> group,
    Function<BgpConfig.Peer, Bootstrap> bootstrap,
    Function<BgpConfig.Peer, SocketAddress> remote,
    Function<Optional<InetSocketAddress>, NextHops> nextHops) {

  /** Thrown by {@link #bootstrap} when this transport cannot serve a peer's configuration. */
  public static final class Unsupported extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Unsupported(String message) {
      super(message);
    }
  }

  /** IPPROTO_IP / IP_TTL and IPPROTO_IPV6 / IPV6_UNICAST_HOPS (linux/in.h, linux/in6.h). */
  private static final IntegerUnixChannelOption IP_TTL =
      new IntegerUnixChannelOption("IP_TTL", 0, 2);

  private static final IntegerUnixChannelOption IPV6_HOPS =
      new IntegerUnixChannelOption("IPV6_UNICAST_HOPS", 41, 16);

  /** The real network: native epoll when available, NIO otherwise (no MD5, no TTL). */
  public static Transport kernel() {
    boolean epoll = Epoll.isAvailable();
    return new Transport(
        () ->
            new MultiThreadIoEventLoopGroup(
                1,
                new DefaultThreadFactory("vipgress-bgp", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory()),
        p -> kernelBootstrap(p, epoll),
        p -> new InetSocketAddress(p.address(), p.port()),
        NextHops::ofInterface);
  }

  /** Whether TCP MD5 and the TTL can be set: the native transport loaded. */
  public static boolean nativeAvailable() {
    return Epoll.isAvailable();
  }

  private static Bootstrap kernelBootstrap(BgpConfig.Peer p, boolean epoll) {
    Bootstrap b =
        new Bootstrap()
            .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, p.connectRetry().toMillis()));
    p.sourceAddress().ifPresent(a -> b.localAddress(new InetSocketAddress(a, 0)));
    int ttl = p.ebgpMultihop() > 0 ? p.ebgpMultihop() : p.localAsn() != p.peerAsn() ? 1 : 0;
    if (!epoll) {
      if (p.password().isPresent()) {
        throw new Unsupported(
            "TCP MD5 (password) needs netty's native epoll transport, which did not load: "
                + Epoll.unavailabilityCause());
      }
      return b; // TTL: the system default
    }
    if (ttl > 0) {
      b.option(p.address() instanceof Inet6Address ? IPV6_HOPS : IP_TTL, ttl);
    }
    p.password()
        .ifPresent(
            pw ->
                b.option(
                    EpollChannelOption.TCP_MD5SIG,
                    Map.of(p.address(), pw.getBytes(StandardCharsets.UTF_8))));
    return b;
  }

  /**
   * This node's next hops on one session: the local address of the session's family, and the first
   * global address of the other family on the same interface.
   */
  public record NextHops(Optional<Inet4Address> v4, Optional<Inet6Address> v6) {
    public static final NextHops NONE = new NextHops(Optional.empty(), Optional.empty());

    static NextHops ofInterface(Optional<InetSocketAddress> local) {
      if (local.isEmpty()) {
        return NONE;
      }
      InetAddress a = local.get().getAddress();
      Optional<Inet4Address> v4 = a instanceof Inet4Address x ? Optional.of(x) : Optional.empty();
      Optional<Inet6Address> v6 =
          a instanceof Inet6Address x && !x.isLinkLocalAddress()
              ? Optional.of(x)
              : Optional.empty();
      try {
        var ni = java.net.NetworkInterface.getByInetAddress(a);
        if (ni != null) {
          for (InetAddress o : java.util.Collections.list(ni.getInetAddresses())) {
            if (o.isLinkLocalAddress() || o.isLoopbackAddress()) {
              continue;
            }
            if (v4.isEmpty() && o instanceof Inet4Address x) {
              v4 = Optional.of(x);
            } else if (v6.isEmpty() && o instanceof Inet6Address x) {
              // without the scope: a global next hop (RFC 2545 §3)
              v6 = Optional.of((Inet6Address) InetAddress.getByAddress(x.getAddress()));
            }
          }
        }
      } catch (java.io.IOException e) {
        // only the session's own family then
      }
      return new NextHops(v4, v6);
    }
  }
}
