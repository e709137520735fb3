package dev.portforward;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The boundaries the folder layout promises, checked on every build. */
@AnalyzeClasses(packages = "dev.portforward", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

  /** The data plane keeps forwarding whatever happens to the operator, so it cannot depend on it. */
  @ArchTest
  static final ArchRule dataPlaneIsFreeOfTheOperatorFramework =
      noClasses().that().resideInAnyPackage(
              "dev.portforward.agent..", "dev.portforward.relay..", "dev.portforward.tunnel..", "dev.portforward.gateway..",
              "dev.portforward.common..", "dev.portforward.api..")
          .should().dependOnClassesThat()
          .resideInAnyPackage("io.javaoperatorsdk..", "io.quarkiverse.operatorsdk..", "dev.portforward.operator..");

  /**
   * The relay runs from a config file alone, by hand or in a pod without API access: it talks to
   * no API server and knows nothing of the PortForward API or the other roles.
   */
  @ArchTest
  static final ArchRule relayIsStandalone =
      noClasses().that().resideInAPackage("dev.portforward.relay..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "io.fabric8..", "dev.portforward.api..", "dev.portforward.agent..", "dev.portforward.operator..");

  /**
   * The tunnel server runs from its config file alone, like the relay: no API server, no API
   * model, no other role. What it shares with the relay (name resolution, destination rules,
   * config reloading) lives in common.
   */
  @ArchTest
  static final ArchRule tunnelIsStandalone =
      noClasses().that().resideInAPackage("dev.portforward.tunnel..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "io.fabric8..", "dev.portforward.api..", "dev.portforward.agent..", "dev.portforward.operator..",
              "dev.portforward.relay..");

  /**
   * The gateway clients speak PCP, NAT-PMP and UPnP IGD and nothing else: the agent decides what
   * to map, they only ask the gateway, so they know no Kubernetes, no API and no role.
   */
  @ArchTest
  static final ArchRule gatewayClientsKnowNoKubernetes =
      noClasses().that().resideInAPackage("dev.portforward.gateway..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "io.fabric8..", "io.quarkus..", "dev.portforward.api..", "dev.portforward.agent..",
              "dev.portforward.operator..", "dev.portforward.relay..");

  /** Shared code is shared by all roles, so it depends on none of them. */
  @ArchTest
  static final ArchRule commonDependsOnNoRole =
      noClasses().that().resideInAPackage("dev.portforward.common..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "dev.portforward.operator..", "dev.portforward.agent..", "dev.portforward.relay..",
              "dev.portforward.tunnel..", "dev.portforward.gateway..");
}
