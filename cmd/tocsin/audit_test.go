package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// An activation written into etcd without its entry: audit verify names
// it and exits non-zero, although the chain itself holds.
func TestAuditVerifyFailsOnAnActivationWithoutItsEntry(t *testing.T) {
	a := mustRunServer(t)
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--url", a.URL()}, getenv, &out, &errOut); err != nil {
		t.Fatalf("audit verify of a fresh trail: %v\n%s", err, out.String())
	}
	if _, err := a.Store().Client().Put(t.Context(), "/tocsin/act/en-douce",
		`{"id":"en-douce","title":"crue","state":"closed","activated_at":"2026-03-01T07:00:00Z"}`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(context.Background(), []string{"audit", "verify", "--url", a.URL()}, getenv, &out, &errOut)
	if !errors.Is(err, errEntriesMissing) || !strings.Contains(out.String(), "activation en-douce : aucune entrée activation.created") ||
		!strings.Contains(out.String(), "INCOMPLET") {
		t.Errorf("audit verify: %v, printed %q; want en-douce named and a failure", err, out.String())
	}
}
