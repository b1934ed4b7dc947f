package dev.vipgress.speaker.l2;

import dev.vipgress.nat.Addresses;
import dev.vipgress.speaker.announce.AnnouncerException;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.nio.channels.MembershipKey;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.pcap4j.core.BpfProgram.BpfCompileMode;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapHandle.PcapDirection;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface.PromiscuousMode;
import org.pcap4j.core.Pcaps;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A {@link FramePort} on a libpcap handle (pcap4j 1.8.2), set up the way pcap4j.md found it must
 * be: immediate mode (otherwise replies wait for the capture timeout), direction in (otherwise the
 * port sees its own gratuitous ARPs), and {@code breakLoop()} before {@code close()} (otherwise
 * close deadlocks against the loop). The kernel filter passes only ARP and NS/NA, so the receive
 * thread wakes for nothing else.
 *
 * <p>Sending and receiving share the handle: on Linux {@code pcap_inject} is a {@code send()} on
 * the packet socket and touches none of the receive state, and pcap4j lets both run under its read
 * lock. Sends are serialised among themselves.
 */
final class PcapPort implements FramePort {
  private static final Logger log = LoggerFactory.getLogger(PcapPort.class);

  /** ARP, or ICMPv6 NS/NA directly after the fixed IPv6 header. */
  static final String FILTER = "arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))";

  /** An NS or NA with options is ~90 bytes; the checksum needs the whole message. */
  private static final int SNAPLEN = 1024;

  private static final int BUFFER_BYTES = 1 << 20;

  /**
   * In immediate mode frames are delivered as they arrive whatever this is; it only bounds how
   * often an idle receive thread wakes up, and how long {@code breakLoop()} may take to be noticed
   * with libpcap older than 1.10 (which cannot interrupt its poll).
   */
  private static final int POLL_TIMEOUT_MS = 250;

  static final Opener OPENER =
      new Opener() {
        @Override
        public void checkLibrary() throws AnnouncerException {
          PcapPort.checkLibrary();
        }

        @Override
        public FramePort open(String iface, Consumer<byte[]> receiver, Runnable onFailure)
            throws AnnouncerException {
          return PcapPort.open(iface, receiver, onFailure);
        }
      };

  private final String iface;
  private final PcapHandle handle;
  private final Thread thread;
  private final Object sendLock = new Object();
  private final Map<Inet6Address, MembershipKey> groups = new HashMap<>();
  private DatagramChannel groupChannel;
  private volatile boolean open = true;
  private volatile boolean closing;

  private PcapPort(String iface, PcapHandle handle, Consumer<byte[]> receiver, Runnable onFailure) {
    this.iface = iface;
    this.handle = handle;
    this.thread =
        Thread.ofPlatform()
            .daemon()
            .name("vipgress-l2-rx-" + iface)
            .unstarted(() -> receive(receiver, onFailure));
  }

  static void checkLibrary() throws AnnouncerException {
    try {
      String version = Pcaps.libVersion();
      log.atDebug().setMessage("pcapLoaded").addKeyValue("version", version).log();
    } catch (LinkageError e) {
      String lib = System.getProperty("org.pcap4j.core.pcapLibName", "libpcap (default search)");
      throw new AnnouncerException(
          "L2 announcer: cannot load the capture library "
              + lib
              + " ("
              + brief(e)
              + "). Install libpcap (Debian/Ubuntu: apt-get install libpcap0.8; RHEL/Fedora: dnf"
              + " install libpcap; Alpine: apk add libpcap) or point"
              + " -Dorg.pcap4j.core.pcapLibName at libpcap.so.*; on a read-only root filesystem"
              + " also set -Djna.tmpdir to a writable directory.",
          e);
    }
  }

  /** JNA's message lists every path it tried; the first two lines say what matters. */
  private static String brief(Throwable e) {
    String[] lines = String.valueOf(e.getMessage()).split("\\R");
    String text = lines.length > 1 ? lines[0] + " " + lines[1] : lines[0];
    return text.length() > 240 ? text.substring(0, 240) + "..." : text;
  }

  static PcapPort open(String iface, Consumer<byte[]> receiver, Runnable onFailure)
      throws AnnouncerException {
    PcapHandle handle;
    try {
      handle =
          new PcapHandle.Builder(iface)
              .snaplen(SNAPLEN)
              .promiscuousMode(PromiscuousMode.NONPROMISCUOUS)
              .timeoutMillis(POLL_TIMEOUT_MS)
              .bufferSize(BUFFER_BYTES)
              .immediateMode(true)
              .direction(PcapDirection.IN)
              .build();
    } catch (PcapNativeException e) {
      throw openFailure(iface, e);
    }
    try {
      handle.setFilter(FILTER, BpfCompileMode.OPTIMIZE);
    } catch (PcapNativeException | NotOpenException e) {
      handle.close();
      throw new AnnouncerException(
          "L2 announcer: cannot set the capture filter on " + iface + ": " + e.getMessage(), e);
    }
    PcapPort port = new PcapPort(iface, handle, receiver, onFailure);
    port.thread.start();
    return port;
  }

  private static AnnouncerException openFailure(String iface, PcapNativeException e) {
    String msg = String.valueOf(e.getMessage());
    Integer rc = e.getReturnCode();
    // PCAP_ERROR_PERM_DENIED = -8, PCAP_ERROR_NO_SUCH_DEVICE = -5 (pcap/pcap.h)
    if ((rc != null && rc == -8)
        || msg.contains("permission")
        || msg.contains("Operation not permitted")) {
      return new AnnouncerException(
          "L2 announcer: no permission to open a raw socket on "
              + iface
              + " ("
              + msg
              + "). The process needs CAP_NET_RAW (in Kubernetes: securityContext.capabilities.add:"
              + " [NET_RAW]; or run as root).",
          e);
    }
    if ((rc != null && rc == -5) || msg.contains("No such device")) {
      return new AnnouncerException(
          "L2 announcer: interface "
              + iface
              + " does not exist in this network namespace ("
              + msg
              + "). Fix l2.interfaces in the configuration (the pod needs hostNetwork: true).",
          e);
    }
    return new AnnouncerException("L2 announcer: cannot open " + iface + " for capture: " + msg, e);
  }

  private void receive(Consumer<byte[]> receiver, Runnable onFailure) {
    MDC.put("iface", iface);
    try {
      handle.loop(-1, (byte[] frame) -> receiver.accept(frame));
    } catch (InterruptedException e) {
      // breakLoop(): close() is stopping us
    } catch (PcapNativeException | NotOpenException | RuntimeException e) {
      if (!closing) {
        log.atWarn()
            .setMessage("captureFailed")
            .addKeyValue("error", String.valueOf(e.getMessage()))
            .log();
      }
    } finally {
      open = false;
      MDC.remove("iface");
    }
    if (!closing) {
      onFailure.run();
    }
  }

  @Override
  public void send(byte[] frame) throws IOException {
    synchronized (sendLock) {
      try {
        handle.sendPacket(frame);
      } catch (PcapNativeException | NotOpenException e) {
        throw new IOException("send on " + iface + ": " + e.getMessage(), e);
      }
    }
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public synchronized boolean joinGroup(Inet6Address group) {
    if (groups.containsKey(group)) {
      return true;
    }
    try {
      NetworkInterface ni = NetworkInterface.getByName(iface);
      if (ni == null) {
        return false;
      }
      if (groupChannel == null) {
        groupChannel = DatagramChannel.open(StandardProtocolFamily.INET6);
      }
      groups.put(group, groupChannel.join(group, ni));
      return true;
    } catch (IOException | UnsupportedOperationException e) {
      log.atWarn()
          .setMessage("multicastJoinFailed")
          .addKeyValue("iface", iface)
          .addKeyValue("group", Addresses.format(group))
          .addKeyValue("error", String.valueOf(e.getMessage()))
          .log();
      return false;
    }
  }

  @Override
  public synchronized void leaveGroup(Inet6Address group) {
    MembershipKey key = groups.remove(group);
    if (key != null) {
      key.drop();
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
      groups.values().forEach(MembershipKey::drop);
      groups.clear();
      if (groupChannel != null) {
        try {
          groupChannel.close();
        } catch (IOException e) {
          // nothing to release any more
        }
      }
    }
    try {
      handle.breakLoop();
    } catch (NotOpenException e) {
      // already closed
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(2));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      // close() would block on pcap4j's lock for as long as the loop runs; leak the handle
      log.atWarn().setMessage("captureStuck").addKeyValue("iface", iface).log();
      return;
    }
    handle.close();
    open = false;
  }

  @Override
  public String toString() {
    return "PcapPort[" + iface + "]";
  }
}
