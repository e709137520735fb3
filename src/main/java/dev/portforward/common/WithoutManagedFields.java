package dev.portforward.common;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;

/**
 * An informer's store that keeps objects without their managedFields: server-side apply's
 * bookkeeping, which nothing here reads from a cache, is a third to a half of a cached
 * PortForward's memory (a tree of maps per field manager), and every agent caches every forward.
 * Updates built from a cached object leave managedFields out, which the API server reads as
 * "unchanged". Kubernetes' own controllers strip them the same way (TransformStripManagedFields).
 */
public final class WithoutManagedFields<T extends HasMetadata> extends BasicItemStore<T> {

  public WithoutManagedFields() {
    super(Cache::metaNamespaceKeyFunc);
  }

  @Override
  public T put(String key, T object) {
    object.getMetadata().setManagedFields(null);
    return super.put(key, object);
  }
}
