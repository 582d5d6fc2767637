package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

const adminToken = "scenario-admin-token"

// testPlaybook targets everyone, with the default ladder (one SMS).
const testPlaybook = `id: test-tous
title: Alerte de test
audience: {everyone: true}
message: "Alerte de test pour {{.Commune}}."
`

// ladderPlaybook has the full escalation ladder: SMS at once, a call at
// T+10, the deputies at T+20 and T+25, the manual list at T+30.
const ladderPlaybook = `id: test-echelle
title: Alerte avec escalade
audience: {everyone: true}
message: "Alerte de test pour {{.Commune}}."
ladder:
  - {after: 0, channel: sms, targets: [mobile], retries: 1}
  - {after: 10m, channel: voice, targets: [mobile, landline], retries: 1}
  - {after: 20m, channel: sms, targets: [deputies]}
  - {after: 25m, channel: voice, targets: [deputies]}
  - {after: 30m, channel: manual}
`

// mustRunApp runs the whole app on a free loopback port with the
// in-process simulator, and closes it when the test ends.
func mustRunApp(tb testing.TB, cfg app.Config) *app.App {
	tb.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	if cfg.PlaybooksDir == "" {
		cfg.PlaybooksDir = tb.TempDir()
		writeFile(tb, filepath.Join(cfg.PlaybooksDir, "test.yaml"), testPlaybook)
		writeFile(tb, filepath.Join(cfg.PlaybooksDir, "ladder.yaml"), ladderPlaybook)
	}
	cfg.Listen = "127.0.0.1:0"
	cfg.Simulator = true
	cfg.AdminToken = adminToken
	cfg.EtcdUnsafeNoFsync = true
	cfg.LeaseTTL = 2
	if cfg.SMSRate == 0 {
		cfg.SMSRate = 500
	}
	if testing.Verbose() && cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Out = io.Discard
	a, err := app.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

// api calls Tocsin's JSON API as the administrator and decodes the answer
// into out (when not nil). It returns the HTTP status.
func api(tb testing.TB, a *app.App, method, path string, body, out any) int {
	tb.Helper()
	return apiAs(tb, a, adminToken, method, path, body, out)
}

// apiAs is api with another token.
func apiAs(tb testing.TB, a *app.App, token, method, path string, body, out any) int {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.URL()+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// view is the API's activation with everything.
type view struct {
	tocsin.Activation
	Summary    tocsin.Summary     `json:"summary"`
	Forecast   forecast           `json:"forecast"`
	Recipients []tocsin.Recipient `json:"recipients"`
	Timeline   []tocsin.Event     `json:"timeline"`
}

// forecast is the API's forecast, durations in seconds.
type forecast struct {
	Rungs []struct {
		Channel     tocsin.Channel `json:"channel"`
		DoneSeconds float64        `json:"done_seconds"`
	} `json:"rungs"`
	MeetsDeadline bool   `json:"meets_deadline"`
	Warning       string `json:"warning"`
}

// waitFor polls the activation until cond holds, or fails after timeout
// with the last state seen.
func waitFor(tb testing.TB, a *app.App, id string, timeout time.Duration, what string, cond func(v *view) bool) *view {
	tb.Helper()
	return testingutil.Await(tb, timeout, what, func() (*view, bool) {
		var v view
		if st := api(tb, a, "GET", "/api/v1/activations/"+id, nil, &v); st != http.StatusOK {
			tb.Fatalf("GET activation: status %d", st)
		}
		return &v, cond(&v)
	})
}

// fictionMobile returns the n-th number of ARCEP's fiction mobile range.
func fictionMobile(n int) string { return fmt.Sprintf("+3363998%04d", n) }

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// mustMayors makes the directory n mayors, o0000…, each with the n-th
// fiction mobile.
func mustMayors(tb testing.TB, a *app.App, n int) {
	tb.Helper()
	officials := make([]tocsin.Official, n)
	for i := range officials {
		officials[i] = mayorOf(fmt.Sprintf("o%04d", i), mobile(fictionMobile(i)))
	}
	if err := a.Store().ReplaceOfficials(tb.Context(), officials); err != nil {
		tb.Fatal(err)
	}
}
