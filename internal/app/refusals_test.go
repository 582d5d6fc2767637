package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
	"github.com/prefecture76/tocsin/internal/web"
)

// refusalsInTrail returns the access.refused entries of the trail.
func refusalsInTrail(t *testing.T, a *app.App) []tocsin.AuditEntry {
	t.Helper()
	var got []tocsin.AuditEntry
	if err := a.Audit().Walk(t.Context(), audit.Filter{}, func(e *tocsin.AuditEntry) error {
		if e.Action == tocsin.AuditRefused {
			got = append(got, *e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// An auditor tries again and again to close an activation, and an officer
// posts a form without its security token: each refusal is in the trail,
// under the user's name, up to the bound per user; the auditor's refusals
// past it are counted in one entry when the window ends.
func TestRefusedActionsReachTheTrailWithinBounds(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC))
	a := silentApp(t, app.Config{Clock: clock})
	auditor := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	officer := loginAs(t, a, "dupont", tocsin.RoleOfficer)
	tries := web.RefusalsPerWho + 3
	for range tries {
		if st, _, _ := auditor.postCSRF("/activations/crue/clore", nil); st != http.StatusForbidden {
			t.Fatalf("an auditor closing an activation: %d, want 403", st)
		}
	}
	if st, _, _ := officer.post("/activations/crue/clore", url.Values{}); st != http.StatusForbidden {
		t.Fatalf("a form without its security token: %d, want 403", st)
	}
	got := refusalsInTrail(t, a)
	if len(got) != web.RefusalsPerWho+1 {
		t.Fatalf("%d refusal entries, want %d for the auditor and 1 for the officer: %+v", len(got), web.RefusalsPerWho+1, got)
	}
	for _, e := range got[:web.RefusalsPerWho] {
		if e.Actor != "auditrice" || !strings.Contains(e.Detail, "POST /activations/crue/clore refusé : votre rôle") {
			t.Errorf("auditor's refusal: %+v", e)
		}
	}
	if e := got[web.RefusalsPerWho]; e.Actor != "dupont" || !strings.Contains(e.Detail, "jeton de sécurité absent ou périmé") {
		t.Errorf("officer's refusal: %+v", e)
	}

	clock.Advance(web.RefusalWindow)
	auditor.postCSRF("/activations/crue/clore", nil)
	got = refusalsInTrail(t, a)
	if len(got) != web.RefusalsPerWho+3 {
		t.Fatalf("after the window: %d refusal entries, want the summary and the new refusal besides the %d", len(got), web.RefusalsPerWho+1)
	}
	summary, next := got[len(got)-2], got[len(got)-1]
	if summary.Actor != "tocsin" || !strings.Contains(summary.Detail, fmt.Sprintf("3 autres actions refusées, non détaillées une à une, du 01/03/2026 08:00:")) ||
		!strings.Contains(summary.Detail, "auditrice : 3") {
		t.Errorf("summary: %+v; want the auditor's 3 refusals past the bound counted", summary)
	}
	if next.Actor != "auditrice" {
		t.Errorf("the new window's first refusal: %+v, want recorded one by one", next)
	}
	var res struct {
		OK bool `json:"ok"`
	}
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK {
		t.Error("the trail does not verify")
	}
}

// A flood from many addresses stays within the bound of the window.
func TestRefusalsOfAWindowAreBoundedInAll(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC))
	a := silentApp(t, app.Config{Clock: clock, ClientIPHeader: "X-Real-IP"})
	for i := range web.RefusalsPerWindow + 20 {
		req, _ := http.NewRequest("POST", a.URL()+"/connexion", strings.NewReader("identifiant=x&motdepasse=y"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Real-IP", fmt.Sprintf("192.0.2.%d", i%250))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a login form without its token: %d, want 403", resp.StatusCode)
		}
	}
	if got := refusalsInTrail(t, a); len(got) != web.RefusalsPerWindow || !strings.Contains(got[0].Detail, "formulaire de connexion expiré") ||
		got[0].Actor != "adresse 192.0.2.0" {
		t.Fatalf("%d refusal entries (first %+v), want %d", len(got), got[0], web.RefusalsPerWindow)
	}
}
