package dev.vipgress.speaker.l2;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Interfaces from {@code /sys/class/net}: a few small file reads per interface per poll, no process
 * and no netlink socket. Sysfs shows the network namespace it was mounted in, which is the node's
 * for a host-network pod and the namespace {@code ip netns exec} entered in the lab.
 *
 * <p>Up means administratively up ({@code IFF_UP} in {@code flags}) and operationally up: {@code
 * operstate} "up", or "unknown" with carrier (drivers that do not report operstate), the same rule
 * the kernel uses for {@code IFF_RUNNING}.
 */
final class SysfsLinkDirectory implements LinkDirectory {
  private static final int IFF_UP = 0x1;

  private final Path root;

  SysfsLinkDirectory() {
    this(Path.of("/sys/class/net"));
  }

  SysfsLinkDirectory(Path root) {
    this.root = root;
  }

  @Override
  public List<String> names() {
    try (Stream<Path> s = Files.list(root)) {
      List<String> names = new ArrayList<>();
      s.forEach(p -> names.add(p.getFileName().toString()));
      names.sort(null);
      return names;
    } catch (IOException e) {
      return List.of();
    }
  }

  @Override
  public Optional<Link> link(String name) {
    Path dir = root.resolve(name);
    try {
      Mac mac = parseMac(read(dir, "address"));
      int type = Integer.parseInt(read(dir, "type"));
      int flags = Integer.decode(read(dir, "flags"));
      String oper = read(dir, "operstate");
      boolean up =
          (flags & IFF_UP) != 0 && (oper.equals("up") || (oper.equals("unknown") && carrier(dir)));
      return Optional.of(new Link(name, mac, type, up));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty(); // a read racing a deletion
    }
  }

  /** Non-Ethernet links (tunnels, IPoIB) have other address lengths; they read as zero. */
  private static Mac parseMac(String text) {
    try {
      return Mac.parse(text);
    } catch (IllegalArgumentException e) {
      return Mac.ZERO;
    }
  }

  /** Reads operstate alone when it settles the question, which it does unless it is "unknown". */
  @Override
  public Optional<Boolean> isUp(String name) {
    Path dir = root.resolve(name);
    try {
      String oper = read(dir, "operstate");
      if (!oper.equals("unknown")) {
        return Optional.of(oper.equals("up"));
      }
      int flags = Integer.decode(read(dir, "flags"));
      return Optional.of((flags & IFF_UP) != 0 && carrier(dir));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static boolean carrier(Path dir) {
    try {
      return read(dir, "carrier").equals("1");
    } catch (IOException e) {
      return false; // EINVAL while the interface is down
    }
  }

  private static String read(Path dir, String file) throws IOException {
    return Files.readString(dir.resolve(file), StandardCharsets.US_ASCII).trim();
  }
}
