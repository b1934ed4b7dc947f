package dev.vipgress.speaker.observe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * {@code /metrics} (Prometheus), {@code /healthz} (the process works), {@code /readyz} (watches
 * synced and the first reconcile done), {@code /status} (per-VIP JSON for {@code vipgress status}).
 */
public final class HttpEndpoints implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpServer server;

  public HttpEndpoints(
      int port,
      PrometheusRegistry registry,
      BooleanSupplier healthy,
      BooleanSupplier ready,
      Supplier<Object> status)
      throws IOException {
    server = HttpServer.create(new InetSocketAddress(port), 16);
    server.setExecutor(
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "http");
              t.setDaemon(true);
              return t;
            }));
    server.createContext("/metrics", new MetricsHandler(registry));
    server.createContext("/healthz", ex -> probe(ex, healthy.getAsBoolean()));
    server.createContext("/readyz", ex -> probe(ex, ready.getAsBoolean()));
    server.createContext(
        "/status", ex -> send(ex, 200, "application/json", JSON.writeValueAsBytes(status.get())));
  }

  public void start() {
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void probe(HttpExchange ex, boolean ok) throws IOException {
    send(
        ex,
        ok ? 200 : 503,
        "text/plain",
        (ok ? "ok\n" : "not ok\n").getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int code, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(code, body.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
