package dev.portforward.e2e;

/** Faults a {@link ClusterUnderTest} can inflict on one of its nodes' components. */
interface NodeFaults {

  /** SIGTERM to the node's kubelet; its pods keep running. */
  void stopKubelet(String node) throws Exception;

  /** SIGKILL to the node's kubelet; its pods keep running. */
  void killKubelet(String node) throws Exception;

  /** Starts the node's kubelet again. */
  void startKubelet(String node) throws Exception;

  /** Restarts the node's containerd; containers and their shims stay. */
  void restartContainerd(String node) throws Exception;
}
