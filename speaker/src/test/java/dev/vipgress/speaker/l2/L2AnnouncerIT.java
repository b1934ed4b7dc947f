package dev.vipgress.speaker.l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import dev.vipgress.speaker.l2.BridgeCapture.Frame;
import dev.vipgress.speaker.l2.L2Lab.ArpingReply;
import dev.vipgress.speaker.l2.L2Lab.Vip;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The L2 announcer in the lab: real kernels on ext and the nodes, the LAN bridge captured. Each
 * announcer runs as its own JVM in a node's network namespace ({@link L2AnnouncerMain}) so it can
 * be killed and frozen. VIPs 192.168.100.241-249 / fd76:100::241-249 are this test's own.
 *
 * <p>Timings are measured and printed (and appended to target/l2-takeover.txt), never asserted.
 */
@ExtendWith(LabExtension.class)
class L2AnnouncerIT {
  private static final String A = "node1";
  private static final String B = "node2";
  private static final Duration LEASE = Duration.ofMillis(1500);
  private static final Duration RENEW_EVERY = Duration.ofMillis(300);
  private static final Duration NEIGHBOUR_WAIT = Duration.ofSeconds(5);
  private static final int MOVES = 10;
  private static final Path REPORT = Path.of("target", "l2-takeover.txt");

  private L2Lab lab;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();
  private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void setUp(Lab lab) {
    this.lab = new L2Lab(lab);
  }

  @AfterEach
  void tearDown() throws Exception {
    renewer.shutdownNow();
    while (!cleanup.isEmpty()) {
      cleanup.pop().close();
    }
  }

  /** A VIP of this test; ext's and the nodes' neighbour entries for it are flushed afterwards. */
  private Vip vip(String literal) {
    Vip v = Vip.of(literal);
    cleanup.addLast(() -> lab.flushEverywhere(v, L2Lab.EXT, A, B));
    return v;
  }

  private <T extends AutoCloseable> T closing(T t) {
    cleanup.push(t);
    return t;
  }

  private AnnouncerProcess announcer(String node) throws InterruptedException {
    return closing(lab.announcer(node));
  }

  /** ext resolves the VIP to the owner's MAC; the node that does not own it never answers. */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"192.168.100.241", "fd76:100::241"})
  void extResolvesTheVipToTheOwnerAndTheOtherNodeNeverAnswers(String literal) throws Exception {
    Vip vip = vip(literal);
    AnnouncerProcess owner = announcer(A);
    AnnouncerProcess other = announcer(B);
    BridgeCapture capture = closing(BridgeCapture.start("vg-lan", "br0"));
    owner.announceAndWait(vip.address(), Duration.ofMinutes(5));
    Thread.sleep(700); // let the burst finish

    assertEquals(Optional.of(owner.mac), lab.extResolve(vip), "ext's neighbour entry");
    List<Double> micros = new ArrayList<>();
    if (!vip.v6()) {
      List<ArpingReply> replies = lab.arping(vip, 20);
      assertFalse(replies.isEmpty(), "arping got no reply");
      for (ArpingReply r : replies) {
        assertEquals(owner.mac, r.mac(), "arping reply from " + r.mac());
        micros.add(r.micros());
      }
    } else {
      lab.probe(vip, 3);
    }
    capture.stop();

    List<Frame> answers = capture.frames().stream().filter(f -> f.isAnswerFor(literal)).toList();
    assertFalse(answers.isEmpty(), "no answer on the bridge");
    for (Frame f : answers) {
      assertEquals(owner.mac, f.source(), "answer from a non-owner: " + f.text());
    }
    long garps =
        capture.frames().stream()
            .filter(
                f ->
                    f.source().equals(owner.mac)
                        && (f.isGratuitousArpFor(literal)
                            || (f.isAdvertisementFor(literal) && f.text().contains("> ff02::1:"))))
            .count();
    assertEquals(3, garps, "gratuitous burst on the bridge");
    assertEquals(0.0, other.metric("vipgress_l2_requests_answered_total", "eth0", vip.address()));
    assertTrue(owner.metric("vipgress_l2_requests_answered_total", "eth0", vip.address()) >= 1);
    assertEquals(3.0, owner.metric("vipgress_l2_garps_sent_total", "eth0", vip.address()));
    List<Double> onBridge = capture.answerDelays(owner.mac, literal);
    report(
        String.format(
            Locale.ROOT,
            "%s request -> userspace answer on the bridge: p50 %.0f us, max %.0f us over %d",
            literal,
            L2Lab.percentile(onBridge, 50),
            L2Lab.percentile(onBridge, 100),
            onBridge.size()));
    if (!micros.isEmpty()) {
      report(
          String.format(
              Locale.ROOT,
              "arping %s answered from userspace: p50 %.0f us, max %.0f us over %d",
              literal,
              L2Lab.percentile(micros, 50),
              L2Lab.percentile(micros, 100),
              micros.size()));
    }
  }

  /** Planned moves back and forth: ext's existing entry follows the new owner. */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"192.168.100.242", "fd76:100::242"})
  void plannedMovesRepointExtsNeighbourEntry(String literal) throws Exception {
    Vip vip = vip(literal);
    AnnouncerProcess[] nodes = {announcer(A), announcer(B)};
    NeighbourMonitor monitor = closing(NeighbourMonitor.start(lab.lab.netns(L2Lab.EXT)));
    nodes[0].announceAndWait(vip.address(), Duration.ofMinutes(5));
    Thread.sleep(700);
    assertEquals(Optional.of(nodes[0].mac), lab.extResolve(vip), "ext's entry before the moves");

    List<Double> millis = new ArrayList<>();
    for (int i = 0; i < MOVES; i++) {
      AnnouncerProcess from = nodes[i % 2];
      AnnouncerProcess to = nodes[(i + 1) % 2];
      int mark = monitor.mark();
      from.withdrawAndWait(vip.address());
      long takeover = to.announceAndWait(vip.address(), Duration.ofMinutes(5));
      Optional<Long> updated = monitor.awaitEntry(mark, literal, to.mac, NEIGHBOUR_WAIT);
      assertTrue(updated.isPresent(), "move " + i + ": ext's entry never pointed to " + to.node);
      millis.add((updated.get() - takeover) / 1000.0);
      assertEquals(Optional.of(to.mac), lab.extEntry(vip), "move " + i);
      Thread.sleep(700); // the rest of the burst
    }
    report(summary("planned move", literal, millis));
  }

  /** SIGKILL of the owner: nothing from it after its deadline; the new owner takes ext over. */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"192.168.100.243", "fd76:100::243"})
  void killedOwnerIsSilentAfterItsDeadlineAndExtFollowsTheNewOwner(String literal)
      throws Exception {
    Vip vip = vip(literal);
    List<Double> millis = new ArrayList<>();
    AnnouncerProcess next = announcer(B);
    for (int round = 0; round < 3; round++) {
      AnnouncerProcess owner = announcer(A);
      next.withdrawAndWait(vip.address());
      AtomicLong deadline = new AtomicLong(owner.announce(vip.address(), LEASE));
      ScheduledFuture<?> renewal = renew(owner, vip, deadline);
      Thread.sleep(700);
      assertEquals(Optional.of(owner.mac), lab.extResolve(vip));
      NeighbourMonitor monitor = closing(NeighbourMonitor.start(lab.lab.netns(L2Lab.EXT)));
      BridgeCapture capture = closing(BridgeCapture.start("vg-lan", "br0"));

      owner.signal("KILL");
      renewal.cancel(false);
      waitPast(deadline.get());
      int mark = monitor.mark();
      long takeover = next.announceAndWait(vip.address(), Duration.ofMinutes(5));
      Optional<Long> updated = monitor.awaitEntry(mark, literal, next.mac, NEIGHBOUR_WAIT);
      assertTrue(updated.isPresent(), "ext's entry never pointed to the new owner");
      millis.add((updated.get() - takeover) / 1000.0);
      lab.probe(vip, 3);
      capture.stop();
      assertNothingFromAfter(capture, owner.mac, literal, deadline.get());
      assertEquals(Optional.of(next.mac), lab.extEntry(vip));
      assertFalse(owner.isAlive());
    }
    report(summary("crash move (SIGKILL)", literal, millis));
  }

  /**
   * SIGSTOP of the owner: it stays silent while frozen, and after SIGCONT it answers none of the
   * requests that queued up meanwhile, because the deadline is checked per packet.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"192.168.100.244", "fd76:100::244"})
  void frozenOwnerAnswersNothingAfterItsDeadlineEvenWhenThawed(String literal) throws Exception {
    Vip vip = vip(literal);
    AnnouncerProcess owner = announcer(A);
    AnnouncerProcess next = announcer(B);
    AtomicLong deadline = new AtomicLong(owner.announce(vip.address(), LEASE));
    ScheduledFuture<?> renewal = renew(owner, vip, deadline);
    Thread.sleep(700);
    assertEquals(Optional.of(owner.mac), lab.extResolve(vip));
    NeighbourMonitor monitor = closing(NeighbourMonitor.start(lab.lab.netns(L2Lab.EXT)));
    BridgeCapture capture = closing(BridgeCapture.start("vg-lan", "br0"));

    owner.signal("STOP");
    renewal.cancel(false);
    lab.probe(vip, 2); // queued in the frozen process's socket, before the deadline
    waitPast(deadline.get());
    lab.probe(vip, 2); // queued, after the deadline
    int mark = monitor.mark();
    long takeover = next.announceAndWait(vip.address(), Duration.ofMinutes(5));
    Optional<Long> updated = monitor.awaitEntry(mark, literal, next.mac, NEIGHBOUR_WAIT);
    assertTrue(updated.isPresent(), "ext's entry never pointed to the new owner");
    owner.signal("CONT");
    Thread.sleep(1000); // the thawed JVM works through its queue
    lab.probe(vip, 3);
    capture.stop();

    assertNothingFromAfter(capture, owner.mac, literal, deadline.get());
    assertEquals(Optional.of(next.mac), lab.extEntry(vip));
    double refused = owner.metric("vipgress_l2_requests_refused_total", "eth0", vip.address());
    assertTrue(refused >= 1, "the thawed owner should have refused queued requests: " + refused);
    report(
        String.format(
            Locale.ROOT,
            "frozen owner %s: takeover->ext entry %.1f ms; thawed owner refused %.0f queued/late"
                + " requests",
            literal,
            (updated.get() - takeover) / 1000.0,
            refused));
  }

  // ---- helpers ----

  /** Renews like a lease holder: every 300 ms, deadline = now + LEASE (wall clock). */
  private ScheduledFuture<?> renew(AnnouncerProcess owner, Vip vip, AtomicLong deadline) {
    long every = RENEW_EVERY.toMillis();
    return renewer.scheduleAtFixedRate(
        () -> deadline.set(owner.announce(vip.address(), LEASE)),
        every,
        every,
        TimeUnit.MILLISECONDS);
  }

  private static void waitPast(long epochMillis) throws InterruptedException {
    long left = epochMillis - System.currentTimeMillis();
    if (left > 0) {
      Thread.sleep(left + 50);
    }
  }

  private static void assertNothingFromAfter(
      BridgeCapture capture, Mac mac, String vip, long deadlineEpochMillis) {
    long deadlineMicros = deadlineEpochMillis * 1000;
    List<Frame> late =
        capture.frames().stream()
            .filter(f -> f.source().equals(mac))
            .filter(f -> f.isAnswerFor(vip) || f.isGratuitousArpFor(vip))
            .filter(f -> f.epochMicros() > deadlineMicros)
            .toList();
    assertEquals(List.of(), late, "frames for " + vip + " from " + mac + " after its deadline");
  }

  private static String summary(String what, String vip, List<Double> millis) {
    return String.format(
        Locale.ROOT,
        "%s %s: takeover -> ext neighbour entry updated: p50 %.1f ms, max %.1f ms over %d moves %s",
        what,
        vip,
        L2Lab.percentile(millis, 50),
        L2Lab.percentile(millis, 100),
        millis.size(),
        millis.stream().map(m -> String.format(Locale.ROOT, "%.1f", m)).toList());
  }

  private static void report(String line) throws IOException {
    System.out.println("[l2-report] " + line);
    Files.createDirectories(REPORT.getParent());
    Files.writeString(REPORT, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }
}
