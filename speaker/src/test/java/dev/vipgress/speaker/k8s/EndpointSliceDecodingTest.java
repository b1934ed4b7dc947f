package dev.vipgress.speaker.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1EndpointSlice;
import io.kubernetes.client.openapi.models.V1EndpointSliceList;
import io.kubernetes.client.util.Watch;
import java.lang.reflect.Type;
import org.junit.jupiter.api.Test;

/** An EndpointSlice of a Service without pods, as the API server sends it ({@code null} list). */
class EndpointSliceDecodingTest {
  static final String EMPTY =
      """
      {"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
       "metadata":{"name":"idle-x7k2p","namespace":"default",
                   "labels":{"kubernetes.io/service-name":"idle"}},
       "addressType":"IPv4","endpoints":null,"ports":null}
      """;
  static final String FULL =
      """
      {"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
       "metadata":{"name":"web-abcde","namespace":"default",
                   "labels":{"kubernetes.io/service-name":"web"}},
       "addressType":"IPv4",
       "endpoints":[{"addresses":["10.244.1.2"],"nodeName":"node1"}]}
      """;

  @Test
  void theGeneratedModelAloneRejectsIt() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> V1EndpointSlice.validateJsonElement(JsonParser.parseString(EMPTY)));
    assertTrue(e.getMessage().contains("endpoints"), e.getMessage());
  }

  @Test
  void aListWithASliceWithoutEndpointsDecodesAndKeepsTheOthers() {
    EndpointSliceDecoding.install();
    String list =
        "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\","
            + "\"metadata\":{\"resourceVersion\":\"42\"},\"items\":["
            + EMPTY
            + ","
            + FULL
            + "]}";
    V1EndpointSliceList l = JSON.deserialize(list, V1EndpointSliceList.class);
    assertEquals(2, l.getItems().size());
    assertTrue(l.getItems().get(0).getEndpoints().isEmpty());
    assertEquals("10.244.1.2", l.getItems().get(1).getEndpoints().get(0).getAddresses().get(0));
  }

  @Test
  void aWatchEventOfSuchASliceDecodes() {
    EndpointSliceDecoding.install();
    Type t = Watch.Response.class; // what the informer's watch decodes, parameterised below
    Type event =
        com.google.gson.reflect.TypeToken.getParameterized(t, V1EndpointSlice.class).getType();
    Watch.Response<V1EndpointSlice> r =
        JSON.deserialize("{\"type\":\"ADDED\",\"object\":" + EMPTY + "}", event);
    assertEquals("idle-x7k2p", r.object.getMetadata().getName());
    assertTrue(r.object.getEndpoints().isEmpty());
  }
}
