package dev.portforward.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RelayNamesTest {

  private static final String DNS_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?";

  @Test
  void aShortNameGetsASuffix() {
    assertThat(RelayNames.name("web")).isEqualTo("web-relay");
  }

  @Test
  void aLongNameIsCutToALabelAndKeptApartByAHash() {
    String a = "a".repeat(200) + "-x";
    String b = "a".repeat(200) + "-y";

    assertThat(RelayNames.name(a)).hasSize(RelayNames.MAX_NAME).matches(DNS_LABEL).endsWith("-relay")
        .startsWith("aaaa").isNotEqualTo(RelayNames.name(b));
    assertThat(RelayNames.name("a".repeat(57))).isEqualTo("a".repeat(57) + "-relay");
    assertThat(RelayNames.name("a".repeat(58))).hasSizeLessThanOrEqualTo(RelayNames.MAX_NAME).matches(DNS_LABEL);
  }

  @Test
  void namesThatAreNoDnsLabelBecomeOne() {
    assertThat(RelayNames.name("api.v2")).matches(DNS_LABEL).startsWith("api-v2-").isNotEqualTo(RelayNames.name("api-v2"));
    assertThat(RelayNames.name("1st")).matches(DNS_LABEL).startsWith("pf-1st-");
    assertThat(RelayNames.name("a.-" + "b".repeat(60))).hasSizeLessThanOrEqualTo(RelayNames.MAX_NAME).matches(DNS_LABEL);
  }
}
