package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// k8sObject is what the test reads of a Kubernetes manifest.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name           string   `yaml:"name"`
					Args           []string `yaml:"args"`
					ReadinessProbe k8sProbe `yaml:"readinessProbe"`
					LivenessProbe  k8sProbe `yaml:"livenessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

// The Kubernetes manifests are checked by reading them too: only real
// TOCSIN_* variables, Tocsin's probes on /readyz and /healthz, and a
// disruption budget that keeps a quorum of replicas.
func TestKubernetesManifestsNameOnlyRealSettings(t *testing.T) {
	known := knownVariables(t)
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifest in deploy/kubernetes: %v", err)
	}
	objects := map[string]k8sObject{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkVariables(t, f, data, known)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objects[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	d, ok := objects["Deployment/tocsin"]
	if !ok || len(d.Spec.Template.Spec.Containers) == 0 {
		t.Fatalf("no Deployment tocsin with a container; found %v", len(objects))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("tocsin probes: readiness %q, liveness %q; want /readyz and /healthz", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("tocsin container args %v: want serve", c.Args)
	}
	pdb, ok := objects["PodDisruptionBudget/tocsin"]
	if !ok || pdb.Spec.Selector.MatchLabels["app"] != "tocsin" {
		t.Error("no PodDisruptionBudget selecting app=tocsin")
	}
	if _, ok := objects["StatefulSet/etcd"]; !ok {
		t.Error("no etcd StatefulSet")
	}
}
