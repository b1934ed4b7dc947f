package dev.vipgress.election;

import com.google.gson.reflect.TypeToken;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseList;
import io.kubernetes.client.util.Watch;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reflector on one thread: list (in pages), then watch from the list's resource version with
 * bookmarks; on 410 Gone list again; on a broken connection watch again from the last version seen,
 * after a short back-off. The watch uses its own read timeout so the shared client is not changed.
 *
 * <p>Why not client-java-extended's {@code SharedIndexInformer} (checked against client-java
 * 25.0.0): its {@code ResourceEventHandler} has only {@code onAdd}/{@code onUpdate}/{@code
 * onDelete}, and a re-list reaches it as one {@code onUpdate} per object (DeltaFIFO {@code
 * Replaced}/{@code Sync}) through the informer's processor thread, with no mark where a list starts
 * or ends (its exception handler does see a broken watch, but it cannot be told to reconnect). The
 * elector needs exactly those: a re-list is one consistent cut ({@link Sink#snapshot}) that removes
 * what it lacks, restarts the peers' lapse clocks and tells {@link LeaseVersions} which versions
 * came from a cut rather than the ordered stream (a listed version that differs from an awaited
 * echo of its own write is read again; taken as a watch event it would be ignored as older and the
 * view could stay behind for good); a broken watch stops claims until the view has caught up
 * ({@link Sink#broken}); a recovered renewal reconnects at once. Emulating them on an informer
 * would mean a custom {@code ListerWatcher} that side-channels each list past the DeltaFIFO, racing
 * the processor thread's older deltas, plus a second cache of every Lease (the informer's indexer)
 * beside the elector's own view. This class is the small reflector those semantics need.
 */
final class KubeLeaseWatch implements LeaseWatch {
  private static final Logger log = LoggerFactory.getLogger(KubeLeaseWatch.class);
  private static final Type EVENT_TYPE = new TypeToken<Watch.Response<V1Lease>>() {}.getType();
  private static final int PAGE = 500;
  private static final int WATCH_SECONDS = 300;

  private final ApiClient client;
  private final CoordinationV1Api api;
  private final OkHttpClient watchHttp;
  private final String namespace;
  private final String labelSelector;
  private final Duration listTimeout;
  private final Duration retry;
  private final Thread thread;
  private volatile boolean closed;
  private volatile Watch<V1Lease> current;
  private volatile Sink sink;
  private volatile boolean reconnecting;
  private final java.util.concurrent.atomic.AtomicLong requests =
      new java.util.concurrent.atomic.AtomicLong();

  @Override
  public long requests() {
    return requests.get();
  }

  KubeLeaseWatch(
      ApiClient client,
      String namespace,
      String labelSelector,
      Duration listTimeout,
      Duration retry,
      String nodeName) {
    this.client = client;
    this.api = new CoordinationV1Api(client);
    this.namespace = namespace;
    this.labelSelector = labelSelector;
    this.listTimeout = listTimeout;
    this.retry = retry;
    this.watchHttp =
        client
            .getHttpClient()
            .newBuilder()
            .readTimeout(Duration.ofSeconds(WATCH_SECONDS + 60))
            .callTimeout(Duration.ZERO)
            .build();
    this.thread =
        Thread.ofPlatform()
            .daemon()
            .name("vipgress-election-watch-" + nodeName)
            .unstarted(this::run);
  }

  @Override
  public void start(Sink sink) {
    this.sink = sink;
    thread.start();
  }

  @Override
  public void reconnect() {
    reconnecting = true;
    Watch<V1Lease> w = current;
    if (w != null) {
      closeQuietly(w);
    }
  }

  @Override
  public void close() {
    closed = true;
    reconnect();
    thread.interrupt();
  }

  private void run() {
    String rv = null;
    long backoffMillis = retry.toMillis();
    while (!closed) {
      try {
        if (rv == null) {
          rv = list();
        }
        watch(rv);
        backoffMillis = retry.toMillis();
      } catch (Gone e) {
        log.debug("watch expired at resourceVersion {}; listing again", rv);
        rv = null;
      } catch (ApiException e) {
        if (closed) {
          return;
        }
        if (e.getCode() == 410) {
          rv = null;
          continue;
        }
        sink.broken(e);
        backoffMillis = pause(backoffMillis);
      } catch (RuntimeException e) {
        if (closed) {
          return;
        }
        if (reconnecting) {
          reconnecting = false;
          rv = lastSeen != null ? lastSeen : rv;
          continue;
        }
        sink.broken(e);
        backoffMillis = pause(backoffMillis);
      }
      rv = lastSeen != null ? lastSeen : rv;
    }
  }

  private volatile String lastSeen;

  private String list() throws ApiException {
    List<V1Lease> all = new ArrayList<>();
    String cont = null;
    String rv;
    do {
      Call call =
          api.listNamespacedLease(namespace)
              .labelSelector(labelSelector)
              .limit(PAGE)
              ._continue(cont)
              .buildCall(null);
      call.timeout().timeout(listTimeout.toMillis(), TimeUnit.MILLISECONDS);
      requests.incrementAndGet();
      V1LeaseList page = client.<V1LeaseList>execute(call, V1LeaseList.class).getData();
      all.addAll(page.getItems());
      cont = page.getMetadata() == null ? null : page.getMetadata().getContinue();
      rv = page.getMetadata() == null ? null : page.getMetadata().getResourceVersion();
    } while (cont != null && !cont.isEmpty());
    lastSeen = rv;
    sink.snapshot(all);
    return rv;
  }

  private void watch(String rv) throws ApiException {
    Call call =
        api.listNamespacedLease(namespace)
            .labelSelector(labelSelector)
            .resourceVersion(rv)
            .allowWatchBookmarks(true)
            .watch(true)
            .timeoutSeconds(WATCH_SECONDS - ThreadLocalRandom.current().nextInt(60))
            .buildCall(null);
    requests.incrementAndGet();
    Watch<V1Lease> w = Watch.createWatch(client, watchHttp.newCall(call.request()), EVENT_TYPE);
    current = w;
    try {
      if (closed) {
        return;
      }
      for (Watch.Response<V1Lease> ev : w) {
        switch (ev.type) {
          case "ADDED", "MODIFIED", "DELETED" -> {
            lastSeen = ev.object.getMetadata().getResourceVersion();
            sink.event(ev.type, ev.object);
          }
          case "BOOKMARK" -> lastSeen = ev.object.getMetadata().getResourceVersion();
          case "ERROR" -> {
            if (ev.status != null && Integer.valueOf(410).equals(ev.status.getCode())) {
              lastSeen = null;
              throw new Gone();
            }
            throw new IllegalStateException(
                "watch error: " + (ev.status == null ? "?" : ev.status.getMessage()));
          }
          default -> log.debug("ignoring watch event type {}", ev.type);
        }
      }
    } finally {
      current = null;
      closeQuietly(w);
    }
  }

  private long pause(long millis) {
    try {
      Thread.sleep(millis + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
    return Math.min(millis * 2, 2_000);
  }

  private static void closeQuietly(Watch<V1Lease> w) {
    try {
      w.close();
    } catch (Exception e) {
      // closing a watch that is being torn down anyway
    }
  }

  /** The watch's resource version is too old: list again. */
  private static final class Gone extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Gone() {
      super(null, null, false, false);
    }
  }
}
