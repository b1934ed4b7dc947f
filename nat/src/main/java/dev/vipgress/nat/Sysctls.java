package dev.vipgress.nat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The sysctls the egress datapath needs on a node (datapath.md, "Sysctls"). */
final class Sysctls {
  private static final Logger log = LoggerFactory.getLogger(Sysctls.class);

  private final Path root;
  private final List<String> uplinks;

  Sysctls(Path root, List<String> uplinks) {
    this.root = root;
    this.uplinks = uplinks;
  }

  /** key (path below the sysctl root, so interface names may contain dots) → value. */
  List<String[]> wanted() {
    List<String[]> w = new ArrayList<>();
    w.add(new String[] {"net/ipv4/ip_forward", "1"});
    w.add(new String[] {"net/ipv6/conf/all/forwarding", "1"});
    // the owner would otherwise send ICMP redirects for hairpinned, steered traffic
    w.add(new String[] {"net/ipv4/conf/all/send_redirects", "0"});
    for (String u : uplinks) {
      w.add(new String[] {"net/ipv4/conf/" + u + "/send_redirects", "0"});
    }
    return w;
  }

  void apply() {
    for (String[] kv : wanted()) {
      Path p = path(kv[0]);
      try {
        String cur = Files.readString(p, StandardCharsets.US_ASCII).trim();
        if (!cur.equals(kv[1])) {
          Files.writeString(p, kv[1], StandardCharsets.US_ASCII);
          log.info("sysctlSet key={} from={} to={}", kv[0], cur, kv[1]);
        }
      } catch (IOException e) {
        throw new NatException("cannot set sysctl " + kv[0] + "=" + kv[1] + ": " + e, e);
      }
    }
    // picking up moved flows mid-stream needs loose TCP tracking; it is the kernel default
    Path loose = path("net/netfilter/nf_conntrack_tcp_loose");
    try {
      if (Files.exists(loose)
          && !Files.readString(loose, StandardCharsets.US_ASCII).trim().equals("1")) {
        log.warn(
            "sysctlUnexpected key=net.netfilter.nf_conntrack_tcp_loose want=1: established flows will"
                + " not survive an owner change");
      }
    } catch (IOException e) {
      log.debug("cannot read {}", loose, e);
    }
  }

  /** Writes one sysctl if it differs (the key is a path below {@code root}). */
  static void set(Path root, String key, String value) {
    Path p = root.resolve(key);
    try {
      String cur = Files.readString(p, StandardCharsets.US_ASCII).trim();
      if (!cur.equals(value)) {
        Files.writeString(p, value, StandardCharsets.US_ASCII);
        log.info("sysctlSet key={} from={} to={}", key, cur, value);
      }
    } catch (IOException e) {
      throw new NatException("cannot set sysctl " + key + "=" + value + ": " + e, e);
    }
  }

  private Path path(String key) {
    return root.resolve(key);
  }
}
