package dev.portforward.common;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Turns the weights of target.services into whole slots per endpoint: each Service's weight is
 * shared equally among its ready endpoints, and a Service with weight 0 or no ready endpoint takes
 * nothing, so the others share all of it. The kernel picks a backend with {@code numgen random mod
 * <sum of slots>} over one interval of slots per endpoint, so the map holds one element per
 * endpoint whatever the total; the total only has to be a whole number of slots per endpoint.
 *
 * <p>When every Service's weight divides evenly among its endpoints the slots are exact (weight /
 * endpoints, reduced by their greatest common divisor: 80/20 becomes 4 and 1, 50/50 becomes 1 and
 * 1, which renders exactly as an unweighted Service). Otherwise the shares are fractions, and the
 * slots are a largest-remainder allocation of {@link #TOTAL}: each endpoint is off its exact
 * share by less than one part in a million, the resolution of a Gateway API weight, and the
 * modulus stays far inside numgen's 32 bits. Ties go to the earlier Service and endpoint, so every
 * node computes the same slots. Pure.
 */
public final class WeightedShares {

  /** The slots shared out when the shares are not whole: one per million, as Gateway API weights. */
  public static final int TOTAL = 1_000_000;

  /** One Service of the list: its weight and how many ready endpoints share it. */
  public record Group(int weight, int endpoints) {
    public Group {
      if (weight < 0 || endpoints < 0) {
        throw new IllegalArgumentException("weights and endpoint counts are counts: " + weight + ", " + endpoints);
      }
    }

    boolean active() {
      return weight > 0 && endpoints > 0;
    }
  }

  private WeightedShares() {}

  /**
   * The slots of each endpoint, group by group in the order given: {@code result.get(g)[e]} for
   * endpoint e of group g. All zero when no group has both a weight and an endpoint.
   */
  public static List<int[]> slots(List<Group> groups) {
    List<int[]> slots = new ArrayList<>();
    groups.forEach(g -> slots.add(new int[g.endpoints()]));
    if (groups.stream().noneMatch(Group::active)) {
      return slots;
    }
    boolean whole = groups.stream().filter(Group::active).allMatch(g -> g.weight() % g.endpoints() == 0);
    if (whole) {
      for (int g = 0; g < groups.size(); g++) {
        Group group = groups.get(g);
        if (group.active()) {
          Arrays.fill(slots.get(g), group.weight() / group.endpoints());
        }
      }
    } else {
      largestRemainder(groups, slots);
    }
    return reduced(slots);
  }

  /**
   * Each endpoint gets the whole part of its exact share of {@link #TOTAL}; the slots left over
   * (fewer than the endpoints) go one each to the largest fractional parts.
   */
  private static void largestRemainder(List<Group> groups, List<int[]> slots) {
    long weights = groups.stream().filter(Group::active).mapToLong(Group::weight).sum();
    record Rest(int group, int endpoint, double fraction) {}
    List<Rest> rests = new ArrayList<>();
    long given = 0;
    for (int g = 0; g < groups.size(); g++) {
      Group group = groups.get(g);
      if (!group.active()) {
        continue;
      }
      // Exact share of one endpoint: TOTAL * weight / (weights * endpoints), in longs (< 2^63).
      long numerator = (long) TOTAL * group.weight();
      long denominator = weights * group.endpoints();
      int whole = (int) (numerator / denominator);
      double fraction = (double) (numerator % denominator) / denominator;
      for (int e = 0; e < group.endpoints(); e++) {
        slots.get(g)[e] = whole;
        given += whole;
        rests.add(new Rest(g, e, fraction));
      }
    }
    rests.sort(Comparator.comparingDouble(Rest::fraction).reversed()
        .thenComparingInt(Rest::group).thenComparingInt(Rest::endpoint));
    for (int i = 0; i < TOTAL - given; i++) {
      Rest rest = rests.get(i);
      slots.get(rest.group())[rest.endpoint()]++;
    }
  }

  /** The same proportions in the fewest slots: a smaller modulus, and equal slots become ones. */
  private static List<int[]> reduced(List<int[]> slots) {
    int divisor = slots.stream().flatMapToInt(Arrays::stream).filter(s -> s > 0).reduce(0, WeightedShares::gcd);
    if (divisor > 1) {
      slots.forEach(group -> Arrays.setAll(group, e -> group[e] / divisor));
    }
    return slots;
  }

  private static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }
}
