package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * What is true of a forward now. Written by the operator alone; conditions follow the Gateway API
 * conventions (Accepted, ResolvedRefs, Programmed, Ready, GatewayMapped).
 */
public class PortForwardStatus {

  @JsonPropertyDescription("The metadata.generation that this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription(
      "Accepted: spec valid, allowed and without conflict. ResolvedRefs: the target exists. "
          + "Programmed: rules and relays are in place on every selected node. Ready: traffic can flow. "
          + "GatewayMapped: the gateway granted the external port. "
          + "Stalled (True, only while Accepted is False): kstatus' sign of a refused spec.")
  private List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("The target in short, such as service/web:8080.")
  private String target;

  @JsonPropertyDescription(
      "The policy this forward is judged by: the name of the PortForwardPolicy that governs its namespace,"
          + " or default for the operator's default policy.")
  private String policy;

  @JsonPropertyDescription("Where clients connect.")
  private List<Endpoint> endpoints = new ArrayList<>();

  @JsonPropertyDescription("Endpoints in short, for kubectl get.")
  private String endpointsSummary;

  @JsonPropertyDescription("What the gateway granted, when spec.gateway is set.")
  private List<ExternalEndpoint> externalEndpoints = new ArrayList<>();

  @JsonPropertyDescription("State of the forward on each selected node (at most 100 are listed).")
  private List<NodeState> nodes = new ArrayList<>();

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public String getTarget() {
    return target;
  }

  public void setTarget(String target) {
    this.target = target;
  }

  public String getPolicy() {
    return policy;
  }

  public void setPolicy(String policy) {
    this.policy = policy;
  }

  public List<Endpoint> getEndpoints() {
    return endpoints;
  }

  public void setEndpoints(List<Endpoint> endpoints) {
    this.endpoints = endpoints;
  }

  public String getEndpointsSummary() {
    return endpointsSummary;
  }

  public void setEndpointsSummary(String endpointsSummary) {
    this.endpointsSummary = endpointsSummary;
  }

  public List<ExternalEndpoint> getExternalEndpoints() {
    return externalEndpoints;
  }

  public void setExternalEndpoints(List<ExternalEndpoint> externalEndpoints) {
    this.externalEndpoints = externalEndpoints;
  }

  public List<NodeState> getNodes() {
    return nodes;
  }

  public void setNodes(List<NodeState> nodes) {
    this.nodes = nodes;
  }
}
