package dev.portforward.operator.judge;

import dev.portforward.operator.status.Verdict;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;
import java.util.Optional;

/**
 * What the judge decided for one PortForward: the verdict that becomes its status, and the relay
 * objects it should have; empty to leave them as they are (a target that does not resolve for a
 * moment must not take the relays down), an empty list to have none.
 */
public record Judgement(Verdict verdict, Optional<List<HasMetadata>> relays) {}
