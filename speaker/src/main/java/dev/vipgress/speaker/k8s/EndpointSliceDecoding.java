package dev.vipgress.speaker.k8s;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.TypeAdapter;
import com.google.gson.TypeAdapterFactory;
import com.google.gson.reflect.TypeToken;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1EndpointSlice;
import io.kubernetes.client.openapi.models.V1EndpointSliceList;
import java.io.IOException;

/**
 * Decodes an EndpointSlice whose {@code endpoints} the API server sent as {@code null} (a Service
 * with no ready pod: the server omits the empty list the OpenAPI schema marks required) as an empty
 * list. client-java 25's generated model rejects it, and one such slice anywhere in the cluster
 * fails the whole list and watch of EndpointSlices (kubernetes/kubernetes#135968,
 * kubernetes-client/java#4506; the schema is fixed from Kubernetes 1.36 on).
 *
 * <p>client-java decodes with one process-wide Gson ({@link JSON#getGson()}); this adds one type
 * adapter in front of the generated one and leaves every other type as it was.
 */
final class EndpointSliceDecoding implements TypeAdapterFactory {
  private static boolean installed;

  private EndpointSliceDecoding() {}

  /** Installs the adapter into client-java's Gson (once per process). */
  static synchronized void install() {
    if (!installed) {
      JSON.setGson(
          JSON.getGson()
              .newBuilder()
              .registerTypeAdapterFactory(new EndpointSliceDecoding())
              .create());
      installed = true;
    }
  }

  private static void emptyWhenNull(JsonElement slice) {
    if (slice instanceof JsonObject o
        && (!o.has(V1EndpointSlice.SERIALIZED_NAME_ENDPOINTS)
            || o.get(V1EndpointSlice.SERIALIZED_NAME_ENDPOINTS).isJsonNull())) {
      o.add(V1EndpointSlice.SERIALIZED_NAME_ENDPOINTS, new JsonArray());
    }
  }

  @Override
  public <T> TypeAdapter<T> create(Gson gson, TypeToken<T> type) {
    boolean list = V1EndpointSliceList.class.equals(type.getRawType());
    if (!list && !V1EndpointSlice.class.equals(type.getRawType())) {
      return null;
    }
    TypeAdapter<T> generated = gson.getDelegateAdapter(this, type);
    TypeAdapter<JsonElement> tree = gson.getAdapter(JsonElement.class);
    return new TypeAdapter<T>() {
      @Override
      public void write(JsonWriter out, T value) throws IOException {
        generated.write(out, value);
      }

      @Override
      public T read(JsonReader in) throws IOException {
        JsonElement e = tree.read(in);
        if (!list) {
          emptyWhenNull(e);
        } else if (e instanceof JsonObject o
            && o.get(V1EndpointSliceList.SERIALIZED_NAME_ITEMS) instanceof JsonArray items) {
          items.forEach(EndpointSliceDecoding::emptyWhenNull); // the list validates its items first
        }
        return generated.fromJsonTree(e);
      }
    };
  }
}
