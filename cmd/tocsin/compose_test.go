package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// No container engine runs where the tests run, so the deployment files
// are checked by reading them: every TOCSIN_* variable they set must be one
// this command reads, and every replica must have a health check that
// names an existing subcommand.
func TestDeploymentFilesNameOnlyRealSettings(t *testing.T) {
	known := knownVariables(t)
	for _, f := range []string{"../../docker-compose.yml", "../../deploy/tocsin.env.example", "../../deploy/systemd/tocsin.service", "../../deploy/Dockerfile"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkVariables(t, f, data, known)
	}

	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			Entrypoint []string       `yaml:"entrypoint"`
			DependsOn  map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	replicas := 0
	for name, s := range compose.Services {
		for dep := range s.DependsOn {
			if _, ok := compose.Services[dep]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
			}
		}
		if !strings.HasPrefix(name, "tocsin") {
			continue
		}
		replicas++
		if s.Environment["TOCSIN_NODE_ID"] == "" || s.Environment["TOCSIN_ETCD_ENDPOINTS"] == "" {
			t.Errorf("%s: no node id or etcd endpoints: %v", name, s.Environment)
		}
		for _, ep := range strings.Split(s.Environment["TOCSIN_ETCD_ENDPOINTS"], ",") {
			host := strings.Split(strings.TrimPrefix(ep, "http://"), ":")[0]
			if _, ok := compose.Services[host]; !ok {
				t.Errorf("%s: etcd endpoint %s is not a service", name, ep)
			}
		}
		test := s.Healthcheck.Test
		if len(test) < 3 || !strings.HasSuffix(test[1], "/tocsin") || test[2] != "health" {
			t.Errorf("%s: health check %v; want tocsin health", name, test)
		}
	}
	if replicas < 2 {
		t.Errorf("%d Tocsin replicas in docker-compose.yml; want at least 2", replicas)
	}
}

// knownVariables returns the TOCSIN_* variables `tocsin serve` reads, as
// its help names them.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	var help bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, env(nil), io.Discard, &help)
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`\[(TOCSIN_[A-Z_]+)\]`).FindAllStringSubmatch(help.String(), -1) {
		known[m[1]] = true
	}
	if len(known) < 20 {
		t.Fatalf("found only %d variables in the help: %s", len(known), help.String())
	}
	return known
}

// checkVariables reports every TOCSIN_* name in a deployment file that
// tocsin does not read.
func checkVariables(t *testing.T, file string, data []byte, known map[string]bool) {
	t.Helper()
	for _, v := range regexp.MustCompile(`TOCSIN_[A-Z_]+`).FindAllString(string(data), -1) {
		if !known[v] {
			t.Errorf("%s names %s, which tocsin does not read", file, v)
		}
	}
}
