package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What is true of a tunnel server now; written by the operator alone.
 */
public class SshTunnelStatus {

  @JsonPropertyDescription("The metadata.generation that this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription("Accepted: spec valid and allowed. Ready: the tunnel server runs and accepts clients.")
  private List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("The SHA-256 fingerprint of the server's host key, to pin in clients' known hosts files.")
  private String hostKeyFingerprint;

  @JsonPropertyDescription("Where clients connect inside the cluster: the SSH Service, such as dev-ssh:22.")
  private String sshService;

  @JsonPropertyDescription("How many clients are connected, listed or not.")
  private Integer clientCount;

  @JsonPropertyDescription("Connected clients, the longest connected first (at most 100 are listed; clientCount counts all).")
  private List<TunnelClient> clients;

  @JsonPropertyDescription("Requests the server refused since it started, by reason (auth, limit, session, listen,"
      + " destination); its log names each.")
  private Map<String, Long> refusedRequests;

  @JsonPropertyDescription("The remote forwards and whether a client holds each.")
  private List<TunnelForward> forwards;

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

  public String getHostKeyFingerprint() {
    return hostKeyFingerprint;
  }

  public void setHostKeyFingerprint(String hostKeyFingerprint) {
    this.hostKeyFingerprint = hostKeyFingerprint;
  }

  public String getSshService() {
    return sshService;
  }

  public void setSshService(String sshService) {
    this.sshService = sshService;
  }

  public Integer getClientCount() {
    return clientCount;
  }

  public void setClientCount(Integer clientCount) {
    this.clientCount = clientCount;
  }

  public Map<String, Long> getRefusedRequests() {
    return refusedRequests;
  }

  public void setRefusedRequests(Map<String, Long> refusedRequests) {
    this.refusedRequests = refusedRequests;
  }

  public List<TunnelClient> getClients() {
    return clients;
  }

  public void setClients(List<TunnelClient> clients) {
    this.clients = clients;
  }

  public List<TunnelForward> getForwards() {
    return forwards;
  }

  public void setForwards(List<TunnelForward> forwards) {
    this.forwards = forwards;
  }
}
