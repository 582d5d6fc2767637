package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// A token made with the CLI works, is listed, and once revoked is refused.
func TestTokensCommand(t *testing.T) {
	a := mustRunServer(t)
	ctx := context.Background()
	env := func(token string) func(string) string {
		return func(k string) string {
			if k == "TOCSIN_TOKEN" {
				return token
			}
			return ""
		}
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tokens", "create", "export", "--role", "auditor", "--days", "7", "--url", a.URL()}, env("jeton-admin"), &out, &errOut); err != nil {
		t.Fatalf("create: %v (%s)", err, errOut.String())
	}
	m := regexp.MustCompile(`\((tk-[0-9a-f]+)\) créé.*\n\n    (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("create printed %q: no id and token", out.String())
	}
	id, secret := m[1], m[2]
	out.Reset()
	if err := run(ctx, []string{"tokens", "list", "--url", a.URL()}, env(secret), &out, &errOut); err != nil {
		t.Fatalf("list with the new token: %v", err)
	}
	// It is the administrator's, narrowed to reading: it lists itself.
	if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "auditor") {
		t.Errorf("list: %q, want %s, auditor", out.String(), id)
	}
	if err := run(ctx, []string{"tokens", "revoke", id, "--url", a.URL()}, env("jeton-admin"), &out, &errOut); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := run(ctx, []string{"tokens", "list", "--url", a.URL()}, env(secret), &out, &errOut); err == nil || !strings.Contains(err.Error(), "jeton inconnu") {
		t.Errorf("revoked token: %v, want refused", err)
	}
}
