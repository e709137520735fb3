// Command kstatus prints what sigs.k8s.io/cli-utils' kstatus computes for one Kubernetes object:
// the status Flux (kustomize-controller's and helm-controller's wait) and cli-utils' appliers
// wait on. It reads the object as JSON on standard input and writes {"status": ..., "message": ...}.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(in); err != nil {
		fail(err)
	}
	result, err := status.Compute(&obj)
	if err != nil {
		fail(err)
	}
	out, err := json.Marshal(map[string]string{"status": result.Status.String(), "message": result.Message})
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kstatus:", err)
	os.Exit(1)
}
