// Package conformance runs the upstream Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance) exactly as its own TestConformance does: every option
// comes from the suite's flags (-gateway-class, -conformance-profiles, -supported-features,
// -report-output, -timeout-config-overrides, ...) and the cluster from $KUBECONFIG.
package conformance

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}

// TestPlan lists the suite's tests that the GATEWAY-TCP and GATEWAY-UDP profiles can run (every
// feature a test needs is a core or extended feature of one of them), with those features: core
// ones run always, a test that needs an extended one runs only when -supported-features names it.
// It needs no cluster: `gateway-conformance.test -test.run '^TestPlan$' -test.v`.
func TestPlan(t *testing.T) {
	covered := sets.New[features.FeatureName]()
	core := sets.New[features.FeatureName]()
	for _, profile := range []suite.ConformanceProfile{suite.GatewayTCPConformanceProfile, suite.GatewayUDPConformanceProfile} {
		core = core.Union(profile.CoreFeatures)
		covered = covered.Union(profile.CoreFeatures).Union(profile.ExtendedFeatures)
	}
	for _, test := range tests.ConformanceTests {
		if !covered.HasAll(test.Features...) {
			continue
		}
		extended := sets.New(test.Features...).Difference(core)
		t.Logf("%-45s features=%v extended=%v provisional=%t", test.ShortName, test.Features,
			sets.List(extended), test.Provisional)
	}
}
