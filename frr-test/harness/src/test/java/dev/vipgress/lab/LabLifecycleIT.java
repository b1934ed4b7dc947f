package dev.vipgress.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** `down` leaves nothing of the lab behind; `up` brings it back (idempotently). */
@ExtendWith(LabExtension.class)
class LabLifecycleIT {
  /** Alive and not a zombie (an exited child its parent has not reaped yet is gone for us). */
  static boolean running(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String state = stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return !state.equals("Z") && !state.equals("X");
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void downRemovesEveryNamespaceProcessAndMountThenUpRestores(Lab lab) throws IOException {
    JsonNode before = lab.status();
    String stateDir = before.path("stateDir").asText();
    List<Long> pids = new ArrayList<>();
    before
        .path("processes")
        .forEach(p -> pids.add(p.isNumber() ? p.asLong() : p.path("pid").asLong()));
    assertFalse(pids.isEmpty(), "status lists the lab's processes: " + before.path("processes"));

    lab.cli(Duration.ofMinutes(2), "down").orThrow("lab down");

    String netns = Lab.run(List.of("ip", "netns", "list"), Duration.ofSeconds(10)).stdout();
    assertFalse(netns.lines().anyMatch(l -> l.startsWith("vg-")), "namespaces left: " + netns);
    for (long pid : pids) {
      assertFalse(running(pid), "process " + pid + " still runs");
    }
    String mounts = Files.readString(Path.of("/proc/mounts"));
    assertFalse(mounts.contains(stateDir), "mounts left under " + stateDir);
    assertFalse(Files.exists(Path.of(stateDir)), stateDir + " still exists");
    String links = Lab.run(List.of("ip", "-br", "link"), Duration.ofSeconds(10)).stdout();
    assertFalse(
        links.lines().anyMatch(l -> l.startsWith("vg-host")), "vg-host veth left: " + links);
    assertFalse(lab.isUp());

    // back up for the suites that follow; a second `up` changes nothing
    lab.cli(Duration.ofMinutes(30), "up", "-q").orThrow("lab up");
    lab.cli(Duration.ofMinutes(5), "up", "-q").orThrow("lab up (again)");
    assertTrue(lab.isUp());
    assertEquals(before.path("nodes").asInt(), lab.status().path("nodes").asInt());
    // the second segment comes back too, and its pods reach ext through the router
    String back = Lab.run(List.of("ip", "netns", "list"), Duration.ofSeconds(10)).stdout();
    for (String ns : List.of("vg-lan2", "vg-far1", "vg-far1-p1", "vg-far1-p2")) {
      assertTrue(back.lines().anyMatch(l -> l.startsWith(ns + " ") || l.equals(ns)), ns);
    }
    lab.execOk("far1-p1", "ping", "-c", "1", "-W", "2", lab.ipv4("ext"));
  }
}
