package dev.vipgress.election;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1Lease;

/**
 * The Lease requests the elector makes, in one namespace. Blocking; the elector calls them from its
 * I/O threads. Writes carry the resource version of the object they replace, so a concurrent change
 * fails with 409 instead of being overwritten. Failures are {@link ApiException}s: 409 conflict or
 * already exists, 404 not found, 0 for transport errors.
 */
public interface LeaseApi {

  V1Lease get(String name) throws ApiException;

  V1Lease create(V1Lease lease) throws ApiException;

  /** Replaces the Lease if its resource version is still {@code lease.metadata.resourceVersion}. */
  V1Lease replace(V1Lease lease) throws ApiException;

  /** Deletes the Lease if its resource version is still {@code resourceVersion}. */
  void delete(String name, String resourceVersion) throws ApiException;
}
