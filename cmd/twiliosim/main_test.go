package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/twiliosim"
)

func TestOptionsFromEnvAndFlags(t *testing.T) {
	env := map[string]string{
		"TWILIOSIM_LISTEN":           "127.0.0.1:0",
		"TWILIOSIM_AUTH_TOKEN":       "fromenv",
		"TWILIOSIM_MPS":              "10",
		"TWILIOSIM_DEMO_DELAY_SCALE": "0.1",
		"TWILIOSIM_NUMBERS":          "+33639980000, +33639980009",
	}
	o, err := parseOptions([]string{"--mps", "30", "--max-calls", "4"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:0" || o.authToken != "fromenv" || o.mps != 30 || o.maxCalls != 4 || o.delayScale != 0.1 {
		t.Errorf("options %+v", o)
	}
	cfg, err := o.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Profile.DelayScale != 0.1 || len(cfg.Numbers) != 2 || cfg.Numbers[1] != "+33639980009" || len(cfg.Profile.Mix) == 0 {
		t.Errorf("config %+v", cfg)
	}

	var help strings.Builder
	if _, err := parseOptions([]string{"-help"}, func(k string) string { return env[k] }, &help); err == nil || strings.Contains(help.String(), "fromenv") {
		t.Errorf("-help: %v, printed the token from the environment:\n%s", err, help.String())
	}
	if _, err := parseOptions(nil, func(k string) string { return map[string]string{"TWILIOSIM_CPS": "many"}[k] }, io.Discard); err == nil {
		t.Error("TWILIOSIM_CPS=many accepted")
	}
	if _, err := parseOptions([]string{"extra"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestProfileFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "officials.yaml")
	if err := os.WriteFile(good, []byte("default: {behaviour: reply, delay: 1m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := options{profile: good, delayScale: 0.5}.config(nil)
	if err != nil || cfg.Profile.Default.Behaviour != twiliosim.Reply || cfg.Profile.DelayScale != 0.5 {
		t.Errorf("config %+v, %v", cfg.Profile, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("default: {behaviour: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (options{profile: bad}).config(nil); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("bad profile: %v", err)
	}
}

// The command never writes the auth token, and stops when its context ends.
func TestRunDoesNotLogTheToken(t *testing.T) {
	const token = "s3cretTokenValue0000000000000000"
	out := &syncWriter{}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--auth-token", token, "--log-level", "debug"},
			func(string) string { return "" }, out)
	}()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "ready"); {
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
	if strings.Contains(out.String(), token) {
		t.Errorf("the auth token was logged:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Twilio simulator ready") {
		t.Errorf("no ready line:\n%s", out.String())
	}
}

// syncWriter lets the test read what run writes from another goroutine.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
