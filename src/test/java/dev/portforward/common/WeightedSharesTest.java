package dev.portforward.common;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.common.WeightedShares.Group;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class WeightedSharesTest {

  @Test
  void wholeSplitsAreExactAndReduced() {
    assertThat(slots(new Group(80, 1), new Group(20, 1))).containsExactly(List.of(4), List.of(1));
    assertThat(slots(new Group(80, 2), new Group(20, 1))).containsExactly(List.of(2, 2), List.of(1));
    assertThat(slots(new Group(50, 1), new Group(50, 1))).as("equal shares become ones, as unweighted")
        .containsExactly(List.of(1), List.of(1));
  }

  @Test
  void weightZeroAndServicesWithoutEndpointsTakeNothingAndTheOthersShareEverything() {
    assertThat(slots(new Group(0, 2), new Group(7, 1), new Group(9, 0))).containsExactly(List.of(0, 0), List.of(1), List.of());
    assertThat(slots(new Group(0, 1), new Group(5, 0))).as("nothing can take traffic").containsExactly(List.of(0), List.of());
  }

  @Test
  void oneEndpointTakesAllOfItsServicesShare() {
    assertThat(slots(new Group(1_000_000, 1))).containsExactly(List.of(1));
  }

  @Test
  void unevenSplitsShareAMillionSlotsByLargestRemainderFirstEndpointsFirst() {
    List<List<Integer>> slots = slots(new Group(1, 3), new Group(2, 1));

    // 1/9 of a million per endpoint of the first (111,111.1), 2/3 to the second (666,666.7):
    // the one slot left over goes to the largest remainder.
    assertThat(slots).containsExactly(List.of(111_111, 111_111, 111_111), List.of(666_667));
    assertThat(total(slots)).isEqualTo(WeightedShares.TOTAL);
  }

  @Test
  void sixteenServicesOfManyEndpointsStayWithinAMillionSlotsAndOneElementPerEndpoint() {
    Group[] groups = IntStream.range(0, 16).mapToObj(i -> new Group(1_000_000 - i * 7, 997 + i)).toArray(Group[]::new);

    List<List<Integer>> slots = slots(groups);

    assertThat(total(slots)).isEqualTo(WeightedShares.TOTAL);
    for (int g = 0; g < groups.length; g++) {
      assertThat(slots.get(g)).hasSize(groups[g].endpoints());
      int min = slots.get(g).stream().mapToInt(Integer::intValue).min().orElseThrow();
      int max = slots.get(g).stream().mapToInt(Integer::intValue).max().orElseThrow();
      assertThat(max - min).as("endpoints of one Service differ by one slot at most").isLessThanOrEqualTo(1);
      assertThat(min).isPositive();
    }
  }

  @Test
  void theLargestWeightsAddUpFarBelowNumgensRange() {
    Group[] groups = IntStream.range(0, 16).mapToObj(i -> new Group(1_000_000 - i, 1)).toArray(Group[]::new);

    assertThat(total(slots(groups))).isLessThanOrEqualTo(16L * 1_000_000);
  }

  private static List<List<Integer>> slots(Group... groups) {
    return WeightedShares.slots(List.of(groups)).stream()
        .map(s -> Arrays.stream(s).boxed().toList())
        .toList();
  }

  private static long total(List<List<Integer>> slots) {
    return slots.stream().flatMap(List::stream).mapToLong(Integer::intValue).sum();
  }
}
