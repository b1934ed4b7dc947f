package dev.vipgress.speaker.k8s;

import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.EndpointInfo;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.NodeInfo;
import dev.vipgress.speaker.model.ServiceInfo;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.reconcile.ClusterSource;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.DiscoveryV1Api;
import io.kubernetes.client.openapi.models.V1EndpointSlice;
import io.kubernetes.client.openapi.models.V1EndpointSliceList;
import io.kubernetes.client.openapi.models.V1LoadBalancerIngress;
import io.kubernetes.client.openapi.models.V1Node;
import io.kubernetes.client.openapi.models.V1NodeAddress;
import io.kubernetes.client.openapi.models.V1NodeCondition;
import io.kubernetes.client.openapi.models.V1NodeList;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServiceList;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Informers for the opted-in Services (label {@code vipgress.dev/announce}), Services that ask for
 * egress without announcing (to warn about them), all EndpointSlices, and Nodes. Every change only
 * calls the {@link #onChange} callbacks; {@link #view()} reads a snapshot from the caches.
 */
public final class ClusterWatch implements ClusterSource, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterWatch.class);
  private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private final SharedInformerFactory factory;
  private final SharedInformerFactory egressOnlyFactory;
  private final SharedIndexInformer<V1Service> services;
  private final SharedIndexInformer<V1Service> egressOnly;
  private final SharedIndexInformer<V1EndpointSlice> slices;
  private final SharedIndexInformer<V1Node> nodes;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  /**
   * @param client a client whose read timeout is 0 (watches are long-lived)
   * @param onError called with the resource kind when a list/watch fails
   */
  public ClusterWatch(ApiClient client, Consumer<String> onError) {
    EndpointSliceDecoding.install(); // a Service without pods must not break every node's watch
    CoreV1Api core = new CoreV1Api(client);
    DiscoveryV1Api discovery = new DiscoveryV1Api(client);
    long resync = Duration.ofMinutes(10).toMillis();
    factory = new SharedInformerFactory(client);
    egressOnlyFactory = new SharedInformerFactory(client);
    services =
        factory.sharedIndexInformerFor(
            p ->
                core.listServiceForAllNamespaces()
                    .labelSelector(Labels.ANNOUNCE)
                    .resourceVersion(p.resourceVersion)
                    .timeoutSeconds(p.timeoutSeconds)
                    .watch(p.watch)
                    .allowWatchBookmarks(true)
                    .buildCall(null),
            V1Service.class,
            V1ServiceList.class,
            resync,
            (k, t) -> error(onError, "services", t));
    egressOnly =
        egressOnlyFactory.sharedIndexInformerFor(
            p ->
                core.listServiceForAllNamespaces()
                    .labelSelector(Labels.EGRESS + ",!" + Labels.ANNOUNCE)
                    .resourceVersion(p.resourceVersion)
                    .timeoutSeconds(p.timeoutSeconds)
                    .watch(p.watch)
                    .buildCall(null),
            V1Service.class,
            V1ServiceList.class,
            resync,
            (k, t) -> error(onError, "services", t));
    slices =
        factory.sharedIndexInformerFor(
            p ->
                discovery
                    .listEndpointSliceForAllNamespaces()
                    .labelSelector(SERVICE_NAME_LABEL)
                    .resourceVersion(p.resourceVersion)
                    .timeoutSeconds(p.timeoutSeconds)
                    .watch(p.watch)
                    .allowWatchBookmarks(true)
                    .buildCall(null),
            V1EndpointSlice.class,
            V1EndpointSliceList.class,
            resync,
            (k, t) -> error(onError, "endpointslices", t));
    nodes =
        factory.sharedIndexInformerFor(
            p ->
                core.listNode()
                    .resourceVersion(p.resourceVersion)
                    .timeoutSeconds(p.timeoutSeconds)
                    .watch(p.watch)
                    .allowWatchBookmarks(true)
                    .buildCall(null),
            V1Node.class,
            V1NodeList.class,
            resync,
            (k, t) -> error(onError, "nodes", t));
    Runnable changed = () -> listeners.forEach(Runnable::run);
    addHandler(services, changed);
    addHandler(egressOnly, changed);
    addHandler(slices, changed);
    addHandler(nodes, changed);
  }

  private static void error(Consumer<String> onError, String kind, Throwable t) {
    LOG.atWarn().addKeyValue("kind", kind).addKeyValue("error", t.toString()).log("watchFailed");
    onError.accept(kind);
  }

  private static <T extends io.kubernetes.client.common.KubernetesObject> void addHandler(
      SharedIndexInformer<T> informer, Runnable onChange) {
    informer.addEventHandler(
        new ResourceEventHandler<T>() {
          @Override
          public void onAdd(T obj) {
            onChange.run();
          }

          @Override
          public void onUpdate(T oldObj, T newObj) {
            onChange.run();
          }

          @Override
          public void onDelete(T obj, boolean deletedFinalStateUnknown) {
            onChange.run();
          }
        });
  }

  public void start() {
    factory.startAllRegisteredInformers();
    egressOnlyFactory.startAllRegisteredInformers();
  }

  /** Runs {@code callback} on an informer thread after any change; it must not block. */
  @Override
  public void onChange(Runnable callback) {
    listeners.add(callback);
  }

  @Override
  public boolean synced() {
    return services.hasSynced()
        && egressOnly.hasSynced()
        && slices.hasSynced()
        && nodes.hasSynced();
  }

  /** A snapshot of the caches as model records. */
  @Override
  public ClusterView view() {
    Map<ServiceKey, ServiceInfo> svc = new HashMap<>();
    for (V1Service s : services.getIndexer().list()) {
      svc.put(key(s), toInfo(s));
    }
    for (V1Service s : egressOnly.getIndexer().list()) {
      svc.putIfAbsent(key(s), toInfo(s));
    }
    Map<ServiceKey, List<EndpointInfo>> eps = new HashMap<>();
    for (V1EndpointSlice es : slices.getIndexer().list()) {
      var meta = es.getMetadata();
      String svcName = meta.getLabels() == null ? null : meta.getLabels().get(SERVICE_NAME_LABEL);
      ServiceKey k = new ServiceKey(meta.getNamespace(), svcName);
      if (svcName == null || !svc.containsKey(k) || es.getEndpoints() == null) {
        continue;
      }
      List<EndpointInfo> list = eps.computeIfAbsent(k, x -> new ArrayList<>());
      for (var ep : es.getEndpoints()) {
        for (String a : Optional.ofNullable(ep.getAddresses()).orElse(List.of())) {
          list.add(new EndpointInfo(a, ep.getNodeName()));
        }
      }
    }
    Map<String, NodeInfo> nodeMap = new HashMap<>();
    for (V1Node n : nodes.getIndexer().list()) {
      NodeInfo info = toInfo(n);
      nodeMap.put(info.name(), info);
    }
    return new ClusterView(svc, eps, nodeMap);
  }

  static ServiceKey key(V1Service s) {
    return new ServiceKey(s.getMetadata().getNamespace(), s.getMetadata().getName());
  }

  static ServiceInfo toInfo(V1Service s) {
    List<String> ips = new ArrayList<>();
    if (s.getStatus() != null && s.getStatus().getLoadBalancer() != null) {
      for (V1LoadBalancerIngress i :
          Optional.ofNullable(s.getStatus().getLoadBalancer().getIngress()).orElse(List.of())) {
        if (i.getIp() != null) {
          ips.add(i.getIp());
        }
      }
    }
    String type =
        s.getSpec() == null ? "ClusterIP" : Objects.toString(s.getSpec().getType(), "ClusterIP");
    Map<String, String> labels = Optional.ofNullable(s.getMetadata().getLabels()).orElse(Map.of());
    var created = s.getMetadata().getCreationTimestamp();
    Map<String, String> ours = new java.util.HashMap<>();
    Optional.ofNullable(s.getMetadata().getAnnotations())
        .orElse(Map.of())
        .forEach(
            (k, v) -> {
              if (k.startsWith("vipgress.dev/bgp-") && v != null) {
                ours.put(k, v);
              }
            });
    return new ServiceInfo(
        key(s), type, labels, ips, created == null ? Instant.EPOCH : created.toInstant(), ours);
  }

  static NodeInfo toInfo(V1Node n) {
    List<String> ips = new ArrayList<>();
    boolean ready = false;
    if (n.getStatus() != null) {
      for (V1NodeAddress a : Optional.ofNullable(n.getStatus().getAddresses()).orElse(List.of())) {
        if ("InternalIP".equals(a.getType())) {
          ips.add(a.getAddress());
        }
      }
      for (V1NodeCondition c :
          Optional.ofNullable(n.getStatus().getConditions()).orElse(List.of())) {
        if ("Ready".equals(c.getType())) {
          ready = "True".equals(c.getStatus());
        }
      }
    }
    Map<String, String> labels = Optional.ofNullable(n.getMetadata().getLabels()).orElse(Map.of());
    return new NodeInfo(n.getMetadata().getName(), ips, ready, labels);
  }

  @Override
  public void close() {
    factory.stopAllRegisteredInformers();
    egressOnlyFactory.stopAllRegisteredInformers();
  }
}
