// Command coredns is CoreDNS 1.12.2 with the plugins the conformance suite's Corefile
// (base/manifests.yaml, ConfigMap coredns) names: forward, log, errors and whoami. CoreDNS's own
// main imports every plugin (core/plugin), whose clients (cloud DNS, etcd, Kubernetes) the test
// bed does not need; the directive order is CoreDNS's own (core/dnsserver).
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() {
	coremain.Run()
}
