package dev.portforward.operator;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Turns the typed settings into the operator framework's leader election (prod profile only). */
@Singleton
final class LeaderElectionProducer {

  @Produces
  @Singleton
  LeaderElectionConfiguration leaderElection(OperatorConfig config, OperatorLifecycle lifecycle) {
    OperatorConfig.LeaderElection le = config.leaderElection();
    return lifecycle.leaderElection(le.leaseName(), le.leaseNamespace().orElse(null), le.leaseDuration(),
        le.renewDeadline(), le.retryPeriod());
  }
}
