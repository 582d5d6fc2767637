package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/prefecture76/tocsin/internal/app"
)

// mustRunServer runs a replica with the simulator and one playbook, whose
// administrator's token is "jeton-admin", for the commands that talk to a
// running server; it stops when the test ends.
func mustRunServer(t *testing.T) *app.App {
	t.Helper()
	return mustRunServerWith(t, nil)
}

// mustRunServerWith is mustRunServer with more configuration.
func mustRunServerWith(t *testing.T, configure func(*app.Config)) *app.App {
	t.Helper()
	pbs := t.TempDir()
	if err := os.WriteFile(filepath.Join(pbs, "t.yaml"), []byte("id: t\ntitle: T\naudience: {everyone: true}\nmessage: \"Alerte.\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{DataDir: t.TempDir(), PlaybooksDir: pbs, Listen: "127.0.0.1:0", Simulator: true,
		AdminToken: "jeton-admin", EtcdUnsafeNoFsync: true, LeaseTTL: 2, Out: io.Discard}
	if configure != nil {
		configure(&cfg)
	}
	a, err := app.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
