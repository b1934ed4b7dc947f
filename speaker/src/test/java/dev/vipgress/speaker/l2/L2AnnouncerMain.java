package dev.vipgress.speaker.l2;

import dev.vipgress.nat.Addresses;
import dev.vipgress.speaker.announce.AnnouncerException;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one {@link L2Announcer} as its own process so lab tests can SIGKILL / SIGSTOP it. Flags:
 * {@code --iface NAME} (repeatable), {@code --garp-count N}, {@code --garp-interval-ms N}, {@code
 * --link-poll-ms N}.
 *
 * <p>Commands on stdin, one per line: {@code announce VIP DEADLINE_EPOCH_MS} (the fencing deadline
 * as wall-clock time, the way a lease states it, converted here to the nanoTime clock; a queued
 * command read after a freeze therefore cannot extend the deadline), {@code withdraw VIP}, {@code
 * health}, {@code metrics}, {@code quit}. Replies and events go to stdout as lines starting with
 * {@code @l2 } (logs may be interleaved): {@code started}, {@code error MESSAGE}, {@code announced
 * VIP EPOCH_MICROS} (just before {@code announce()} is called), {@code withdrawn VIP}, {@code
 * health BOOLEAN EPOCH_MICROS} (on request and from the health callback), {@code metric SERIES
 * VALUE} ... {@code metrics-end}.
 */
public final class L2AnnouncerMain {
  private static final PrintStream OUT = System.out;

  private L2AnnouncerMain() {}

  public static void main(String[] args) throws IOException {
    List<String> ifaces = new ArrayList<>();
    int count = L2Config.DEFAULT_GARP_COUNT;
    Duration interval = L2Config.DEFAULT_GARP_INTERVAL;
    Duration linkPoll = L2Config.DEFAULT_LINK_POLL_INTERVAL;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--iface" -> ifaces.add(args[++i]);
        case "--garp-count" -> count = Integer.parseInt(args[++i]);
        case "--garp-interval-ms" -> interval = Duration.ofMillis(Long.parseLong(args[++i]));
        case "--link-poll-ms" -> linkPoll = Duration.ofMillis(Long.parseLong(args[++i]));
        default -> throw new IllegalArgumentException("unknown flag " + args[i]);
      }
    }
    PrometheusRegistry registry = new PrometheusRegistry();
    L2Announcer announcer =
        new L2Announcer(new L2Config(ifaces, count, interval, linkPoll), registry);
    announcer.onHealthChange(() -> emit("health " + announcer.healthy() + " " + epochMicros()));
    try {
      announcer.start();
    } catch (AnnouncerException e) {
      emit("error " + e.getMessage().replace('\n', ' '));
      System.exit(2);
    }
    emit("started " + ProcessHandle.current().pid());
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      String[] w = line.trim().split("\\s+");
      switch (w[0]) {
        case "announce" -> {
          InetAddress vip = InetAddress.getByName(w[1]);
          long deadlineEpochNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(w[2]));
          long nowEpochNanos = epochMicros() * 1_000;
          long deadline = System.nanoTime() + (deadlineEpochNanos - nowEpochNanos);
          emit("announced " + Addresses.format(vip) + " " + epochMicros());
          announcer.announce(vip, deadline);
        }
        case "withdraw" -> {
          InetAddress vip = InetAddress.getByName(w[1]);
          announcer.withdraw(vip);
          emit("withdrawn " + Addresses.format(vip));
        }
        case "health" -> emit("health " + announcer.healthy() + " " + epochMicros());
        case "metrics" -> {
          ByteArrayOutputStream buf = new ByteArrayOutputStream();
          PrometheusTextFormatWriter.create().write(buf, registry.scrape());
          for (String m : buf.toString(StandardCharsets.UTF_8).split("\n")) {
            if (m.startsWith("vipgress_l2_")) {
              int sp = m.lastIndexOf(' ');
              emit("metric " + m.substring(0, sp) + " " + m.substring(sp + 1));
            }
          }
          emit("metrics-end");
        }
        case "quit" -> {
          announcer.close();
          emit("bye");
          System.exit(0);
        }
        case "" -> {}
        default -> emit("error unknown command " + w[0]);
      }
    }
    announcer.close();
  }

  private static long epochMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  private static synchronized void emit(String line) {
    OUT.println("@l2 " + line);
    OUT.flush();
  }
}
