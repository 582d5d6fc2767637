package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The binaries carry no test helper: the testing package (and its flags)
// stays out of what runs in production.
func TestBinariesDoNotLinkTheTestingPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "../twiliosim", "../tocsin-etcd").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "testing" || strings.HasSuffix(pkg, "/testingutil") {
			t.Errorf("a binary depends on %s", pkg)
		}
	}
}
