package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// An auditor logs in to the console, creates a personal token (shown
// once), uses it with the API, sees its last use, and revokes it: refused
// at once. A token narrowed to read only cannot activate; one wider than
// its user cannot be made; creation and revocation are audited.
func TestPersonalTokens(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	st, html, _ := b.postCSRF("/jetons", url.Values{"nom": {"export de l'audit"}, "jours": {"30"}})
	if st != http.StatusOK || !strings.Contains(html, "data-new-token") {
		t.Fatalf("create from the console: status %d", st)
	}
	secret := regexp.MustCompile(`data-token-secret>([A-Za-z0-9_-]+)<`).FindStringSubmatch(html)
	if secret == nil {
		t.Fatal("the new token's secret is not shown")
	}
	as := func(token, method, path string, body any, out any) int {
		t.Helper()
		return apiAs(t, a, token, method, path, body, out)
	}
	var me tocsin.User
	if st := as(secret[1], "GET", "/api/v1/me", nil, &me); st != http.StatusOK || me.Name != "auditrice" || me.Role != tocsin.RoleAuditor {
		t.Errorf("GET /api/v1/me with the token: %d %+v", st, me)
	}
	var list struct {
		Tokens []tocsin.APIToken `json:"tokens"`
	}
	testingutil.Eventually(t, 5*time.Second, "the token's last use recorded", func() bool {
		as(secret[1], "GET", "/api/v1/tokens", nil, &list)
		return len(list.Tokens) == 1 && list.Tokens[0].LastUsed != nil
	})
	if list.Tokens[0].ExpiresAt == nil || list.Tokens[0].Name != "export de l'audit" {
		t.Fatalf("tokens: %+v, want the one, with its expiry", list.Tokens)
	}
	if _, page := b.get("/jetons"); strings.Contains(page, secret[1]) {
		t.Error("the token's secret shows again on the page")
	}
	// Wider than its user: refused. An officer's read-only token cannot activate.
	var refused struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	if st := as(secret[1], "POST", "/api/v1/tokens", map[string]any{"name": "plus", "role": "admin"}, &refused); st != http.StatusForbidden || refused.Error.Field != "role" {
		t.Errorf("token wider than its user: %d %+v, want 403 on role", st, refused)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "  "}, "name"},
		{map[string]any{"name": "x", "role": "maire"}, "role"},
		{map[string]any{"name": "x", "expires_in_days": 400}, "expires_in_days"},
	} {
		if st := api(t, a, "POST", "/api/v1/tokens", bad.body, &refused); st != http.StatusBadRequest || refused.Error.Field != bad.field {
			t.Errorf("POST /api/v1/tokens %v: %d %+v, want 400 on %s", bad.body, st, refused, bad.field)
		}
	}
	var ro struct {
		Token string `json:"token"`
	}
	if st := api(t, a, "POST", "/api/v1/tokens", map[string]any{"name": "lecture", "role": "auditor"}, &ro); st != http.StatusCreated || ro.Token == "" {
		t.Fatalf("admin's read-only token: %d", st)
	}
	if st := as(ro.Token, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, nil); st != http.StatusForbidden {
		t.Errorf("activation with a read-only token: %d, want 403", st)
	}
	// Revoked: refused at once.
	if st, _, _ := b.postCSRF("/jetons/"+list.Tokens[0].ID+"/revoquer", nil); st != http.StatusSeeOther {
		t.Fatalf("revoke: status %d", st)
	}
	if st := as(secret[1], "GET", "/api/v1/me", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", st)
	}
	var trail struct {
		Entries []tocsin.AuditEntry `json:"entries"`
	}
	api(t, a, "GET", "/api/v1/audit?limit=1000", nil, &trail)
	var created, revoked int
	for _, e := range trail.Entries {
		if strings.Contains(e.Detail, "jeton d'API") && strings.Contains(e.Detail, "créé") {
			created++
		}
		if strings.Contains(e.Detail, "révoqué") {
			revoked++
		}
	}
	if created != 2 || revoked != 1 {
		t.Errorf("audit: %d creations, %d revocations; want 2 and 1", created, revoked)
	}
}
