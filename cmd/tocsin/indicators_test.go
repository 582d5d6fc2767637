package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// The indicators and audit commands read a running replica: a month with
// nothing prints "Sans objet", the audit verify command passes an intact
// trail and names an edited entry.
func TestIndicatorsAndAuditCommandsThroughTheRunningServer(t *testing.T) {
	a := mustRunServer(t)
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"indicators", "--from", "2026-01", "--to", "2026-02", "--url", a.URL()}, getenv, &out, &errOut); err != nil {
		t.Fatalf("indicators: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "Résultats janvier 2026") || !strings.Contains(out.String(), "Sans objet") {
		t.Errorf("indicators printed:\n%s", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"indicators", "--from", "janvier", "--url", a.URL()}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "AAAA-MM") {
		t.Errorf("a bad month: %v", err)
	}

	// The export of the indicators above is in the trail.
	if err := run(context.Background(), []string{"audit", "verify", "--url", a.URL()}, getenv, &out, &errOut); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "intègre : 1 entrées") {
		t.Errorf("audit verify printed %q", out.String())
	}
	cli := a.Store().Client()
	k := "/tocsin/audit/e/00000000000000000001"
	resp, err := cli.Get(t.Context(), k)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("read entry 1: %v", err)
	}
	cli.Put(t.Context(), k, strings.Replace(string(resp.Kvs[0].Value), "admin", "quelqu'un", 1))
	out.Reset()
	err = run(context.Background(), []string{"audit", "verify", "--url", a.URL()}, getenv, &out, &errOut)
	if !errors.Is(err, errChainBroken) || !strings.Contains(out.String(), "n° 1") {
		t.Errorf("audit verify after an edit: %v, printed %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "export", "--format", "json", "--url", a.URL()}, getenv, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), `"entries"`) {
		t.Errorf("audit export: %v\n%s", err, out.String())
	}
}
