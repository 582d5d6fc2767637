package app_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// route is one pattern the server serves, with how it is guarded.
type route struct {
	method, path string
	guard        string // api, page, webhook, public, session
	policy       string // anyRole, canActivate, adminOnly
}

// muxRoutes lists every route the server serves, from its own route
// table. A route whose guard this test does not know fails it: a new
// kind of route must say who may use it.
func muxRoutes(t *testing.T, a *app.App) []route {
	t.Helper()
	var out []route
	for _, r := range a.Routes() {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			continue // a catch-all for every method: "not found"
		}
		switch r.Guard {
		case "api", "page", "webhook", "session", "public":
		default:
			t.Errorf("%s: unknown guard %q; teach this test who may use it", r.Pattern, r.Guard)
			continue
		}
		if (r.Guard == "api" || r.Guard == "page") && r.Policy == "" {
			t.Errorf("%s: a %s route with no role policy", r.Pattern, r.Guard)
		}
		out = append(out, route{method: method, path: path, guard: r.Guard, policy: r.Policy})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

func allowed(policy string, role tocsin.Role) bool {
	switch policy {
	case "anyRole":
		return role.Valid()
	case "canActivate":
		return role.CanActivate()
	case "adminOnly":
		return role == tocsin.RoleAdmin
	}
	return false
}

// Every route of the console and the API, as every role: a route refuses
// the roles its policy leaves out (401 or 403, or the login page for a
// visitor), and lets the others through to its handler. Webhooks refuse
// any request that Twilio did not sign.
func TestEveryRouteRefusesTheRolesItShould(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	tokens := map[tocsin.Role]string{tocsin.RoleAdmin: adminToken}
	browsers := map[tocsin.Role]*browser{}
	for _, role := range []tocsin.Role{tocsin.RoleOfficer, tocsin.RoleAuditor} {
		tokens[role] = "token-" + string(role)
		if err := a.Store().CreateUserWithToken(t.Context(), tocsin.User{Name: "api-" + string(role), Role: role}, tokens[role]); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []tocsin.Role{tocsin.RoleAdmin, tocsin.RoleOfficer, tocsin.RoleAuditor} {
		browsers[role] = loginAs(t, a, "console-"+string(role), role)
	}
	fill := strings.NewReplacer("{id}", id, "{official}", "maire-1", "{name}", "inconnu", "{$}", "")

	routes := muxRoutes(t, a)
	if len(routes) < 20 {
		t.Fatalf("found %d routes in the web package; the parser missed some", len(routes))
	}
	// Logging out ends the session: last.
	sort.SliceStable(routes, func(i, j int) bool { return routes[j].path == "/deconnexion" && routes[i].path != "/deconnexion" })
	for _, r := range routes {
		path := fill.Replace(r.path)
		if strings.HasSuffix(r.path, "/") && r.guard == "public" {
			path += "console.js"
		}
		for _, role := range []tocsin.Role{"", tocsin.RoleAuditor, tocsin.RoleOfficer, tocsin.RoleAdmin} {
			name := r.method + " " + r.path + " as " + map[tocsin.Role]string{"": "visitor"}[role] + string(role)
			var req *http.Request
			client := http.DefaultClient
			switch r.guard {
			case "api":
				req, _ = http.NewRequest(r.method, a.URL()+path, strings.NewReader("{}"))
				if role != "" {
					req.Header.Set("Authorization", "Bearer "+tokens[role])
				}
			default:
				form := url.Values{}
				if role != "" {
					form.Set("csrf", browsers[role].csrf)
					client = browsers[role].http
				} else {
					client = newBrowser(t, a).http
				}
				req, _ = http.NewRequest(r.method, a.URL()+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", a.URL())
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			resp.Body.Close()
			st, loc := resp.StatusCode, resp.Header.Get("Location")
			refused := st == http.StatusUnauthorized || st == http.StatusForbidden ||
				(st == http.StatusSeeOther && strings.HasPrefix(loc, "/connexion") && loc != "/connexion?au-revoir")
			var want bool // want refused
			switch r.guard {
			case "api", "page":
				want = !allowed(r.policy, role)
			case "session":
				want = role == ""
			case "webhook":
				want = true
			case "public":
				want = false
			}
			if r.path == "/connexion" && r.method == "POST" {
				continue // the login form: its own token, tested apart
			}
			if refused != want {
				t.Errorf("%s: status %d (to %q); want refused: %v", name, st, loc, want)
			}
		}
	}
}
