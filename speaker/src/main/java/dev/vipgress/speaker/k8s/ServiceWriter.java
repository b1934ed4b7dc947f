package dev.vipgress.speaker.k8s;

import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.reconcile.Reporter;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.CoreV1Event;
import io.kubernetes.client.openapi.models.V1EventSource;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ObjectReference;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.util.PatchUtils;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes what the speaker tells operators on a Service: Events and the owner annotation. Writes
 * happen on one background thread so the reconciler never waits for the apiserver; an identical
 * Event is written once, not on every reconcile.
 */
public final class ServiceWriter implements Reporter, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServiceWriter.class);
  private final CoreV1Api core;
  private final ApiClient client;
  private final String node;
  private final Consumer<String> onError;
  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "service-writer");
            t.setDaemon(true);
            return t;
          });
  private final Map<ServiceKey, String> lastEvent = new ConcurrentHashMap<>();
  private final Map<ServiceKey, Set<String>> warned = new ConcurrentHashMap<>();

  public ServiceWriter(ApiClient client, String node, Consumer<String> onError) {
    this.client = client;
    this.core = new CoreV1Api(client);
    this.node = node;
    this.onError = onError;
  }

  /** Records an Event unless the same reason and message was the last one for this Service. */
  @Override
  public void event(ServiceKey svc, boolean warning, String reason, String message) {
    String sig = reason + "|" + message;
    // A warning is written once per Service (a Service can have several at once); a normal Event
    // once per change (VipAnnounced, VipWithdrawn, ... may legitimately repeat after each other).
    boolean seen =
        warning
            ? !warned.computeIfAbsent(svc, k -> ConcurrentHashMap.newKeySet()).add(sig)
            : sig.equals(lastEvent.put(svc, sig));
    if (seen) {
      return;
    }
    writer.execute(() -> writeEvent(svc, warning, reason, message));
  }

  /** Forgets the dedupe state of a Service, so its next Event is written again. */
  @Override
  public void forget(ServiceKey svc) {
    lastEvent.remove(svc);
    warned.remove(svc);
  }

  /** An Event on this speaker's Node (configuration problems concern the node, not a Service). */
  public void nodeEvent(boolean warning, String reason, String message) {
    writer.execute(
        () ->
            writeEvent(
                "default",
                new V1ObjectReference().kind("Node").apiVersion("v1").name(node),
                warning,
                reason,
                message));
  }

  private void writeEvent(ServiceKey svc, boolean warning, String reason, String message) {
    writeEvent(
        svc.namespace(),
        new V1ObjectReference()
            .kind("Service")
            .apiVersion("v1")
            .namespace(svc.namespace())
            .name(svc.name()),
        warning,
        reason,
        message);
  }

  private void writeEvent(
      String namespace, V1ObjectReference obj, boolean warning, String reason, String message) {
    OffsetDateTime now = OffsetDateTime.now();
    CoreV1Event ev =
        new CoreV1Event()
            .metadata(
                new V1ObjectMeta()
                    .namespace(namespace)
                    .name(obj.getName() + "." + UUID.randomUUID().toString().substring(0, 8)))
            .involvedObject(obj)
            .reason(reason)
            .message(message)
            .type(warning ? "Warning" : "Normal")
            .source(new V1EventSource().component("vipgress-speaker").host(node))
            .reportingComponent("vipgress.dev/speaker")
            .reportingInstance(node)
            .firstTimestamp(now)
            .lastTimestamp(now)
            .count(1);
    try {
      core.createNamespacedEvent(namespace, ev).execute();
    } catch (ApiException e) {
      onError.accept("events");
      LOG.atWarn()
          .addKeyValue("object", obj.getKind() + "/" + obj.getName())
          .addKeyValue("reason", reason)
          .addKeyValue("code", e.getCode())
          .addKeyValue("error", e.getResponseBody())
          .log("eventFailed");
    }
  }

  /** Sets {@code vipgress.dev/owner} on the Service to this node. */
  @Override
  public void annotateOwner(ServiceKey svc) {
    String patch =
        "{\"metadata\":{\"annotations\":{\"" + Labels.OWNER_ANNOTATION + "\":\"" + node + "\"}}}";
    patchLater(svc, patch, V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, Set.of(404), "annotateFailed");
  }

  /**
   * Removes {@code vipgress.dev/owner} if it still names this node: a JSON patch whose {@code test}
   * fails (422) when another node wrote it meanwhile, or when it is gone already.
   */
  @Override
  public void disownOwner(ServiceKey svc) {
    String path = "/metadata/annotations/" + Labels.OWNER_ANNOTATION.replace("/", "~1");
    String patch =
        "[{\"op\":\"test\",\"path\":\""
            + path
            + "\",\"value\":\""
            + node
            + "\"},{\"op\":\"remove\",\"path\":\""
            + path
            + "\"}]";
    patchLater(svc, patch, V1Patch.PATCH_FORMAT_JSON_PATCH, Set.of(404, 422), "disownFailed");
  }

  /** Patches the Service on the writer thread; the codes in {@code expected} are not failures. */
  private void patchLater(
      ServiceKey svc, String patch, String format, Set<Integer> expected, String failure) {
    writer.execute(
        () -> {
          try {
            PatchUtils.patch(
                V1Service.class,
                () ->
                    core.patchNamespacedService(svc.name(), svc.namespace(), new V1Patch(patch))
                        .buildCall(null),
                format,
                client);
          } catch (ApiException e) {
            if (!expected.contains(e.getCode())) {
              onError.accept("services");
              LOG.atWarn()
                  .addKeyValue("service", svc.toString())
                  .addKeyValue("code", e.getCode())
                  .addKeyValue("error", e.getResponseBody())
                  .log(failure);
            }
          }
        });
  }

  @Override
  public void close() {
    writer.shutdown();
  }
}
