package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestHelpNeverShowsSecrets(t *testing.T) {
	var out, errOut bytes.Buffer
	getenv := env(map[string]string{"TOCSIN_TWILIO_AUTH_TOKEN": "s3cr3t-token", "TOCSIN_ADMIN_TOKEN": "adm1n-token", "TOCSIN_ETCD_PASSWORD": "pa55", "TOCSIN_OIDC_CLIENT_SECRET": "0idc-s3cret"})
	run(context.Background(), []string{"serve", "-h"}, getenv, &out, &errOut)
	all := out.String() + errOut.String()
	for _, secret := range []string{"s3cr3t-token", "adm1n-token", "pa55", "0idc-s3cret"} {
		if strings.Contains(all, secret) {
			t.Errorf("help shows a secret %q", secret)
		}
	}
	if !strings.Contains(all, "TOCSIN_SMS_RATE") {
		t.Errorf("help does not name the environment variables: %s", all)
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve"}, map[string]string{"TOCSIN_SMS_RATE": "vite"}, "TOCSIN_SMS_RATE"},
		{[]string{"serve", "--provider", "sms77"}, nil, "--provider"},
		{[]string{"serve", "--provider", "twilio"}, nil, "twilio-account-sid"},
		{[]string{"serve", "--log-level", "loud"}, nil, "--log-level"},
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"serve", "--exercise-schedule-since", "01/01/2026"}, nil, "--exercise-schedule-since \"01/01/2026\" : une date AAAA-MM-JJ attendue"},
		{[]string{"serve"}, map[string]string{"TOCSIN_EXERCISE_SCHEDULE_SINCE": "2999-01-01"}, "exercise-schedule-since : une date passée"},
		{[]string{"serve", "--local-passwords=false"}, nil, "oidc-issuer"},
		{[]string{"serve", "--second-factor-key-file", "/nulle-part/cle"}, nil, "--second-factor-key-file"},
		{[]string{"serve", "--oidc-issuer", "https://idp.example", "--oidc-client-id", "tocsin", "--oidc-role-map", "grp-cod=chef"}, nil, `unknown role "chef"`},
		{[]string{"serve", "--oidc-issuer", "https://idp.example", "--oidc-role-map", "grp-cod=officer"}, nil, "oidc-client-id"},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, env(c.env), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: got %v, want an error naming %s", c.args, c.env, err, c.want)
		}
	}
}

// syncBuffer is written by the running command and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The command as a user runs it: embedded etcd, simulator, demo directory,
// the shipped playbooks; it prints the admin token once and becomes ready.
func TestServeStartsAndIsReady(t *testing.T) {
	dir := t.TempDir()
	playbooks, err := filepath.Abs("../../playbooks")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--playbooks", playbooks, "--log-level", "warn"},
			env(nil), &out, io.Discard)
	}()
	deadline := time.Now().Add(30 * time.Second)
	var url string
	for url == "" {
		if i := strings.Index(out.String(), "Tocsin écoute sur "); i >= 0 {
			url = strings.TrimSpace(strings.SplitN(out.String()[i+len("Tocsin écoute sur "):], "\n", 2)[0])
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not listening after 30 s; output: %s (err %v)", out.String(), <-done)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "Jeton de l'administrateur") {
		t.Errorf("first start did not print the administrator's token: %s", out.String())
	}
	var hout bytes.Buffer
	if err := run(ctx, []string{"health", "--url", url + "/readyz"}, env(nil), &hout, io.Discard); err != nil || !strings.Contains(hout.String(), "ready") {
		t.Errorf("health: %v %q", err, hout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etcd")); err != nil {
		t.Errorf("no etcd data in the data dir: %v", err)
	}
	if err := run(context.Background(), []string{"health", "--url", url + "/readyz"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Errorf("health succeeded after the replica stopped")
	}
}
