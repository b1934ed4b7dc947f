package dev.vipgress.election;

import static dev.vipgress.election.Leases.INCARNATION;

import dev.vipgress.election.ElectionListener.LossReason;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's liveness Lease and incarnation: the claim at start, renewals and the fencing
 * deadline, bulk releases (a new incarnation naming heirs), fenced/superseded/deleted own Leases,
 * and whether the view has caught up with the latest own write ({@code viewCurrent}: nothing is
 * claimed before). Loop-confined; the renewal itself runs on the liveness thread.
 */
final class Liveness {
  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final ElectorCore c;

  Liveness(ElectorCore c) {
    this.c = c;
    this.incarnation = newIncarnation();
  }

  String incarnation;

  final Set<String> myIncarnations = new HashSet<>();

  final Map<String, Handoffs.Entry> pendingHandoffs = new LinkedHashMap<>();

  boolean ownNeedsCreate;

  V1Lease own;

  boolean ownWritten;

  boolean ownEverWritten;

  long nodeDeadline = Long.MIN_VALUE;

  boolean renewing;

  long renewSentAt;

  long nextRenewAt;

  boolean lastRenewOk = true;

  boolean renewFailedSinceOk;

  long runningSince;

  /**
   * Whether the Lease view is known to hold everything up to this node's latest liveness write.
   * False from a failed renewal, a re-created liveness Lease or a broken watch until the watch (or
   * a re-list) delivers this node's own Lease at a version one of its writes since returned: the
   * watch delivers in commit order, so every change before that write is in the view too. Until
   * then nothing new is claimed (VIPs still held on an unbroken deadline stay).
   */
  boolean viewCurrent = true;

  final Set<String> ownWrittenVersions = new HashSet<>();

  final Set<String> ownSeenVersions = new HashSet<>();

  /** Handoff records on this node's own liveness Lease, as last written or seen. */
  Map<String, Handoffs.Entry> ownHandoffs() {
    V1Lease l = own;
    Peer self = c.peers.peers.get(c.node);
    if (self != null && self.lease != null) {
      return self.handoffs(); // the view takes this node's own writes as they are answered
    }
    return l == null ? Map.of() : Handoffs.parse(Leases.annotation(l, Leases.HANDOFF));
  }

  boolean ownValid(long now) {
    return ownWritten && nodeDeadline - now > 0;
  }

  /** Whether this node's own API access is good enough to judge others (never while stuck). */
  boolean apiHealthy(long now) {
    return lastRenewOk && (!renewing || now - renewSentAt < c.durationNanos / 4);
  }

  /** After the first list: take over this node's liveness Lease from any earlier process. */
  void startClaim() {
    long now = c.loop.nanoTime();
    c.phase = ElectorCore.Phase.CLAIMING;
    Peer self = c.peers.peers.get(c.node);
    if (self == null || self.lease == null) {
      own = null;
      c.phase = ElectorCore.Phase.STARTING;
      renewNow();
      return;
    }
    V1Lease l = self.lease;
    String inc = Leases.annotation(l, INCARNATION);
    boolean gone =
        myIncarnations.contains(inc)
            || Peer.isFenced(l)
            || Leases.STATE_STOPPED.equals(Leases.annotation(l, Leases.STATE))
            || c.peers.lapsed(self, now);
    if (gone) {
      own = l;
      c.phase = ElectorCore.Phase.STARTING;
      renewNow();
      return;
    }
    long wait = c.peers.lapseAt(self) - now;
    log.info(
        "nodeLeaseClaimWait node={} previousIncarnation={} waitMs={}: an earlier elector may still"
            + " act on it",
        c.node,
        inc,
        wait / 1_000_000);
    c.loop.schedule(
        () -> {
          if (c.phase == ElectorCore.Phase.CLAIMING && !c.closing) {
            startClaim();
          }
        },
        wait);
  }

  void renewNow() {
    nextRenewAt = c.loop.nanoTime();
    renew();
  }

  void renew() {
    long now = c.loop.nanoTime();
    if (renewing
        || c.phase == ElectorCore.Phase.NEW
        || c.phase == ElectorCore.Phase.SYNCING
        || c.phase == ElectorCore.Phase.CLAIMING) {
      return;
    }
    if (c.phase == ElectorCore.Phase.CLOSED) {
      return;
    }
    if (c.closing && !ownEverWritten) {
      return;
    }
    if (now - nextRenewAt < 0) {
      return;
    }
    if (!ownWritten && c.reporter.anyReleasePending()) {
      return; // a bulk release: written after the listener heard lost() for every VIP
    }
    V1Lease body = ownBody();
    boolean create = own == null || ownNeedsCreate;
    if (create) {
      body.getMetadata().resourceVersion(null).uid(null);
    }
    String incSent = incarnation;
    Set<String> handoffsSent = Set.copyOf(pendingHandoffs.keySet());
    renewing = true;
    renewSentAt = now;
    c.metrics.requests.inc();
    ElectorCore.submit(
        c.wiring.liveness(),
        () -> {
          try {
            V1Lease r = create ? c.api.create(body) : c.api.replace(body);
            c.loop.executePriority(() -> onRenewed(now, incSent, handoffsSent, r));
          } catch (ApiException e) {
            c.loop.executePriority(() -> onRenewFailed(now, e));
          } catch (RuntimeException e) {
            c.loop.executePriority(() -> onRenewFailed(now, new ApiException(e)));
          }
        });
  }

  V1Lease ownBody() {
    V1Lease b =
        own != null
            ? Leases.copy(own)
            : Leases.newLease(c.config.namespace(), c.ownLeaseName, Leases.KIND_NODE);
    OffsetDateTime wall = OffsetDateTime.now(c.wiring.wallClock());
    b.getSpec().holderIdentity(c.node).leaseDurationSeconds(c.leaseSeconds()).renewTime(wall);
    if (b.getSpec().getAcquireTime() == null || !ownWritten) {
      b.getSpec().acquireTime(wall);
    }
    Map<String, String> a = b.getMetadata().getAnnotations();
    a.put(Leases.NODE, c.node);
    a.put(Leases.PROTOCOL, Leases.PROTOCOL_VERSION);
    a.put(INCARNATION, incarnation);
    a.put(Leases.ELIGIBLE, Boolean.toString(c.healthy && !c.closing));
    a.put(Leases.STATE, c.closing ? Leases.STATE_STOPPED : Leases.STATE_RUNNING);
    a.put(Leases.DURATION_MS, Long.toString(c.config.leaseDuration().toMillis()));
    a.put(Leases.CANDIDACY, c.candidacyStamp);
    a.remove(Leases.FENCED_BY);
    Map<String, Handoffs.Entry> entries =
        new LinkedHashMap<>(Handoffs.parse(Leases.annotation(b, Leases.HANDOFF)));
    pendingHandoffs.forEach(entries::putIfAbsent); // a record, once written, never changes
    c.collector.prune(c.node, entries, null);
    Collector.putHandoffs(b, entries);
    b.getMetadata().putLabelsItem(Leases.MANAGED_BY, Leases.MANAGED_BY_VALUE);
    b.getMetadata().putLabelsItem(Leases.KIND, Leases.KIND_NODE);
    return b;
  }

  void onRenewed(long sent, String incSent, Set<String> handoffsSent, V1Lease r) {
    renewing = false;
    ownEverWritten = true;
    ownNeedsCreate = false;
    pendingHandoffs.keySet().removeAll(handoffsSent);
    long now = c.loop.nanoTime();
    c.metrics.renewals.inc();
    own = r;
    if (c.view.versions.answered(c.ownLeaseName, Leases.resourceVersion(r))) {
      c.peers.applyNodeLease(r, now);
    }
    ownVersionWritten(r);
    boolean wasValid = ownValid(now);
    boolean recovered = renewFailedSinceOk || now - sent > c.durationNanos / 4;
    long rtt = now - sent;
    c.writer.writes.renewalTook(rtt, c.config.renewInterval().toNanos());
    boolean hadFailed = renewFailedSinceOk;
    lastRenewOk = true;
    renewFailedSinceOk = false;
    c.metrics.apiHealthy = true;
    if (incSent.equals(incarnation)) {
      ownWritten = true;
      long d = c.config.deadlineAfter(sent);
      if (d - nodeDeadline > 0 || nodeDeadline == Long.MIN_VALUE) {
        nodeDeadline = d;
        c.reporter.nodeDeadline(d);
      }
      c.loop.schedulePriority(this::deadlineCheck, Math.max(0, nodeDeadline - now));
    }
    if (c.closing) {
      if (incSent.equals(incarnation)) {
        log.info("nodeLeaseReleased node={} incarnation={}", c.node, incarnation);
        c.phase = ElectorCore.Phase.CLOSED;
        c.closeDone.countDown();
      } else {
        renewNow();
      }
      return;
    }
    if (c.phase == ElectorCore.Phase.STARTING && ownWritten) {
      c.phase = ElectorCore.Phase.RUNNING;
      runningSince = now;
      log.info("nodeLeaseClaimed node={} incarnation={}", c.node, incarnation);
      c.peers.everEligible.addAll(c.peers.eligiblePeers.stream().map(p -> p.node).toList());
      c.loop.schedule(c.decider::fullPass, c.config.startupGrace().toNanos());
      c.collector.scheduleNodeGc();
      c.rebalancer.scheduleRebalance();
    }
    if (recovered) {
      c.peers.resynced(now);
      if (hadFailed) {
        log.info("livenessRecovered node={}", c.node);
        c.wiring.watch().reconnect();
      }
    }
    nextRenewAt = sent + c.config.renewInterval().toNanos();
    c.loop.schedulePriority(this::renew, Math.max(0, nextRenewAt - now));
    if (!ownWritten) {
      renewNow(); // a bump happened while this renewal was in flight
      return;
    }
    if (!wasValid || recovered || c.decider.acquireBlocked) {
      c.decider.acquireBlocked = false;
      c.peers.refreshPeers(now);
      c.decider.fullPass();
    }
    if (wasValid) {
      c.reporter.renewed(nodeDeadline, c.decider.frozenDeadlines.keySet());
    }
  }

  void onRenewFailed(long sent, ApiException e) {
    renewing = false;
    long now = c.loop.nanoTime();
    int code = e.getCode();
    if (code == 409) {
      c.metrics.conflicts.inc();
      readOwn();
      return;
    }
    viewFellBehind("renewFailed");
    if (code == 404) {
      recreateOwn();
      return;
    }
    c.metrics.renewalFailures.inc();
    c.metrics.apiErrors.inc();
    c.writer.writes.renewalFailed();
    if (!renewFailedSinceOk) {
      log.warn(
          "livenessRenewFailed node={} code={} error={} deadlineInMs={}",
          c.node,
          code,
          ElectorCore.shortError(e),
          ownWritten ? (nodeDeadline - now) / 1_000_000 : -1);
    }
    lastRenewOk = false;
    renewFailedSinceOk = true;
    c.metrics.apiHealthy = false;
    nextRenewAt = Math.max(now, sent + c.config.retryInterval().toNanos());
    c.loop.schedulePriority(this::renew, Math.max(0, nextRenewAt - now));
  }

  void readOwn() {
    renewing = true;
    c.metrics.requests.inc();
    ElectorCore.submit(
        c.wiring.liveness(),
        () -> {
          try {
            V1Lease r = c.api.get(c.ownLeaseName);
            c.loop.executePriority(() -> onOwnRead(r));
          } catch (ApiException e) {
            c.loop.executePriority(() -> onOwnReadFailed(e));
          } catch (RuntimeException e) {
            c.loop.executePriority(() -> onOwnReadFailed(new ApiException(e)));
          }
        });
  }

  void onOwnRead(V1Lease r) {
    renewing = false;
    ownNeedsCreate = false;
    c.view.versions.read(c.ownLeaseName, Leases.resourceVersion(r));
    c.peers.applyNodeLease(r, c.loop.nanoTime());
    own = r;
    if (c.phase != ElectorCore.Phase.CLAIMING) {
      renewNow();
    }
  }

  void onOwnReadFailed(ApiException e) {
    renewing = false;
    if (e.getCode() == 404) {
      viewFellBehind("nodeLeaseMissing");
      recreateOwn();
      return;
    }
    onRenewFailed(c.loop.nanoTime(), e);
  }

  /** Our liveness Lease as seen by the watch or a read: fenced, superseded, or just newer. */
  void onOwnObserved(V1Lease l) {
    if (c.phase == ElectorCore.Phase.NEW
        || c.phase == ElectorCore.Phase.SYNCING
        || c.phase == ElectorCore.Phase.CLAIMING) {
      return; // startClaim decides
    }
    String inc = Leases.annotation(l, INCARNATION);
    if (own != null && Objects.equals(Leases.resourceVersion(l), Leases.resourceVersion(own))) {
      return;
    }
    boolean foreign = inc != null && !myIncarnations.contains(inc);
    if (foreign
        && (Peer.isFenced(l) || Leases.STATE_STOPPED.equals(Leases.annotation(l, Leases.STATE)))) {
      own = l; // what an earlier process left (fenced or stopped): our next write replaces it
      return;
    }
    if (foreign) {
      log.error(
          "nodeLeaseSuperseded node={} foreignIncarnation={}: another elector runs with this node"
              + " name; dropping every VIP and waiting for it to lapse",
          c.node,
          inc);
      own = l;
      bump(LossReason.SUPERSEDED);
      c.decider.fullPass();
      c.phase = ElectorCore.Phase.CLAIMING;
      startClaimLater();
      return;
    }
    if (Peer.isFenced(l) && incarnation.equals(inc)) {
      log.warn(
          "nodeLeaseFenced node={} by={}: a peer saw no renewal for a lease duration; starting"
              + " over",
          c.node,
          Leases.annotation(l, Leases.FENCED_BY));
      own = l;
      bump(LossReason.FENCED);
      c.decider.fullPass();
      renewNow();
      return;
    }
    own = l;
  }

  /**
   * This node's liveness Lease is gone (collected after a long outage, or deleted by hand). Its
   * history went with it — a fence, the handoff records — so the Lease is re-created under a new
   * incarnation: no VIP Lease of the old one can come back to life from a stale view. Every owned
   * VIP is lost (as {@link LossReason#FENCED}); once the view has caught up, placement (previous
   * holder first) gives back what nobody else took meanwhile.
   */
  void recreateOwn() {
    log.atWarn()
        .addKeyValue("node", c.node)
        .addKeyValue("incarnation", incarnation)
        .log("nodeLeaseMissing: re-creating it under a new incarnation");
    ownNeedsCreate = own != null; // keep its annotations (handoff records) in the new one
    if (ownWritten) {
      bump(LossReason.FENCED);
      c.decider.fullPass();
    }
    renewNow();
  }

  void viewFellBehind(String why) {
    if (!viewCurrent) {
      return;
    }
    viewCurrent = false;
    ownWrittenVersions.clear();
    ownSeenVersions.clear();
    log.atInfo().addKeyValue("node", c.node).addKeyValue("cause", why).log("leaseViewBehind");
  }

  /** A successful write of this node's liveness Lease returned {@code r}. */
  void ownVersionWritten(V1Lease r) {
    String rv = Leases.resourceVersion(r);
    if (viewCurrent || rv == null) {
      return;
    }
    if (ownSeenVersions.contains(rv)) {
      caughtUp();
    } else {
      ownWrittenVersions.add(rv);
    }
  }

  /** The watch (or a re-list) delivered {@code l}; if it is this node's own write, caught up. */
  void ownVersionSeen(V1Lease l) {
    if (viewCurrent || !c.node.equals(Leases.nodeOf(l))) {
      return;
    }
    String rv = Leases.resourceVersion(l);
    if (rv == null) {
      return;
    }
    if (ownWrittenVersions.contains(rv)) {
      caughtUp();
    } else if (ownSeenVersions.size() < 64) {
      ownSeenVersions.add(rv);
    }
  }

  void caughtUp() {
    viewCurrent = true;
    ownWrittenVersions.clear();
    ownSeenVersions.clear();
    log.atInfo().addKeyValue("node", c.node).log("leaseViewCaughtUp");
    c.decider.fullPass();
  }

  void startClaimLater() {
    Peer self = c.peers.peers.get(c.node);
    long now = c.loop.nanoTime();
    long wait = self == null ? 0 : Math.max(0, c.peers.lapseAt(self) - now);
    c.loop.schedule(
        () -> {
          if (c.phase == ElectorCore.Phase.CLAIMING && !c.closing) {
            startClaim();
          }
        },
        wait);
  }

  /** Drops every VIP at once: a new incarnation voids every VIP Lease held under the old one. */
  void bump(LossReason why) {
    String previous = incarnation;
    if ((why == LossReason.UNHEALTHY || why == LossReason.SHUTDOWN) && ownWritten) {
      // A planned release names the heirs in the same write that ends the incarnation.
      Map<String, String> heirs = new HashMap<>();
      for (Peer q : c.peers.eligiblePeers) {
        if (q.incarnation() != null) {
          heirs.put(q.node, q.incarnation());
        }
      }
      if (!heirs.isEmpty()) {
        pendingHandoffs.put(previous, new Handoffs.Entry(previous, Map.copyOf(heirs)));
      }
    }
    incarnation = newIncarnation();
    ownWritten = false;
    c.dropReason = why;
    log.info(
        "incarnationChanged node={} from={} to={} reason={}", c.node, previous, incarnation, why);
    // only the VIPs we announced change: lost() for each, before anything else; the renewal that
    // follows evaluates every VIP again
    for (String v : new ArrayList<>(c.reporter.announcedVips())) {
      c.decider.evaluate(v);
    }
  }

  void deadlineCheck() {
    long now = c.loop.nanoTime();
    if (ownWritten && nodeDeadline - now <= 0) {
      c.metrics.apiHealthy = false;
    }
    if (ownWritten && nodeDeadline - now <= 0 && !c.reporter.announcedVips().isEmpty()) {
      log.warn(
          "deadlineExpired node={} owned={}: no renewal landed in time; letting go",
          c.node,
          c.reporter.announcedVips().size());
      c.peers.refreshPeers(now);
      c.decider.evaluateAll();
      c.writer.pump();
    }
  }

  String newIncarnation() {
    String inc = c.wiring.incarnations().get();
    myIncarnations.add(inc);
    return inc;
  }
}
