package dev.portforward.common;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.api.model.FieldsV1;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WithoutManagedFieldsTest {

  @Test
  void storesObjectsWithoutManagedFieldsAndEverythingElseIntact() {
    PortForward pf = PortForwards.toService("team-a", "web", 20080, "web", 80, spec -> {});
    FieldsV1 fields = new FieldsV1();
    fields.setAdditionalProperty("f:spec", Map.of("f:listen", Map.of()));
    pf.getMetadata().setManagedFields(new ArrayList<>(List.of(new ManagedFieldsEntryBuilder()
        .withManager("kubectl").withOperation("Apply")
        .withFieldsV1(fields).build())));
    WithoutManagedFields<PortForward> store = new WithoutManagedFields<>();

    store.put(store.getKey(pf), pf);

    PortForward cached = store.get("team-a/web");
    assertThat(cached.getMetadata().getManagedFields()).isNull();
    assertThat(cached.getSpec().getListen().getPort()).isEqualTo(20080);
    assertThat(store.keySet()).containsExactly("team-a/web");
  }
}
