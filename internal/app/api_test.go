package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/directory"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

type apiError struct {
	Error struct {
		Code    string   `json:"code"`
		Field   string   `json:"field"`
		Message string   `json:"message"`
		Details []string `json:"details"`
	} `json:"error"`
}

func rawRequest(t testing.TB, a *app.App, method, path, token, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, a.URL()+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPIErrorsAreClearAndChangeNothing(t *testing.T) {
	t.Parallel()
	a := mustRunApp(t, app.Config{DemoDirectory: true})
	if err := a.Store().CreateUserWithToken(t.Context(), tocsin.User{Name: "audit", Role: tocsin.RoleAuditor}, "auditor-token"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code, field, message            string
	}{
		{"no token", "GET", "/api/v1/activations", "", "", 401, "unauthorized", "", "authentification"},
		{"unknown token", "GET", "/api/v1/activations", "nope", "", 401, "unauthorized", "", "jeton"},
		{"auditor activates", "POST", "/api/v1/activations", "auditor-token", `{"playbook":"test-tous"}`, 403, "forbidden", "", "auditor"},
		{"auditor imports", "PUT", "/api/v1/officials", "auditor-token", "id,nom\n", 403, "forbidden", "", ""},
		{"unknown field", "POST", "/api/v1/activations", adminToken, `{"playbook":"test-tous","exercice":true}`, 400, "invalid", "exercice", "champ inconnu"},
		{"wrong type", "POST", "/api/v1/activations", adminToken, `{"playbook":"test-tous","exercise":"oui"}`, 400, "invalid", "exercise", "bool"},
		{"bad json", "POST", "/api/v1/activations", adminToken, `{"playbook":`, 400, "invalid", "", "JSON"},
		{"empty body", "POST", "/api/v1/activations", adminToken, ``, 400, "invalid", "", "vide"},
		{"no playbook", "POST", "/api/v1/activations", adminToken, `{}`, 400, "invalid", "playbook", "scénario"},
		{"unknown playbook", "POST", "/api/v1/activations", adminToken, `{"playbook":"inconnu"}`, 404, "not_found", "playbook", "inconnu"},
		{"unknown activation", "GET", "/api/v1/activations/nope", adminToken, "", 404, "not_found", "", "introuvable"},
		{"close unknown", "POST", "/api/v1/activations/nope/close", adminToken, "", 404, "not_found", "", "introuvable"},
		{"unknown route", "GET", "/api/v1/nothing", adminToken, "", 404, "not_found", "", "pas de route"},
		{"bad csv", "PUT", "/api/v1/officials", adminToken, "id,nom,fonction,commune,mobile\nx1,Nom,maire,76217,06 12\n", 400, "invalid", "ligne 2", "06 12"},
	}
	for _, c := range cases {
		st, body := rawRequest(t, a, c.method, c.path, c.token, "", c.body)
		if st != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, st, c.status, body)
			continue
		}
		if c.code == "" {
			continue
		}
		if !strings.Contains(body, `"code": "`+c.code+`"`) || !strings.Contains(body, c.message) || (c.field != "" && !strings.Contains(body, c.field)) {
			t.Errorf("%s: body %s; want code %s, field %q, message with %q", c.name, body, c.code, c.field, c.message)
		}
	}
	var list struct {
		Activations []view `json:"activations"`
	}
	api(t, a, "GET", "/api/v1/activations", nil, &list)
	if len(list.Activations) != 0 {
		t.Errorf("bad requests created %d activations", len(list.Activations))
	}
	var dir struct {
		Count int `json:"count"`
	}
	api(t, a, "GET", "/api/v1/officials", nil, &dir)
	if dir.Count < 700 {
		t.Errorf("directory after a bad import: %d officials; want the demo directory untouched", dir.Count)
	}
	var ops struct {
		Count     int `json:"count"`
		Available int `json:"available"`
	}
	if api(t, a, "GET", "/api/v1/cip/operators", nil, &ops); ops.Count != 8 || ops.Available != 7 {
		t.Errorf("demo CIP roster: %+v; want 8 operators, 7 available", ops)
	}

	// Closing twice is a conflict; an auditor reads but does not close.
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if st, _ := rawRequest(t, a, "GET", "/api/v1/activations/"+v.ID, "auditor-token", "", ""); st != 200 {
		t.Errorf("auditor reads: %d, want 200", st)
	}
	if st, _ := rawRequest(t, a, "POST", "/api/v1/activations/"+v.ID+"/close", "auditor-token", "", ""); st != 403 {
		t.Errorf("auditor closes: %d, want 403", st)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+v.ID+"/close", nil, nil); st != 200 {
		t.Errorf("close: %d", st)
	}
	if st, body := rawRequest(t, a, "POST", "/api/v1/activations/"+v.ID+"/close", adminToken, "", ""); st != 409 {
		t.Errorf("close twice: %d %s, want 409", st, body)
	}
}

func TestImportDirectoryThroughAPI(t *testing.T) {
	t.Parallel()
	a := mustRunApp(t, app.Config{})
	csv := "id;nom;fonction;commune;mobile;fixe;suppleants\n" +
		"dieppe-maire;Anne Martin;Maire;76217;06 39 98 00 01;02 61 91 00 01;dieppe-adj\n" +
		"dieppe-adj;Paul Durand;adjoint;76217;+33 6 39 98 00 02;;\n"
	st, body := rawRequest(t, a, "PUT", "/api/v1/officials", adminToken, "text/csv", csv)
	if st != 200 || !strings.Contains(body, `"imported": 2`) {
		t.Fatalf("import: %d %s", st, body)
	}
	var dir struct {
		Officials []tocsin.Official `json:"officials"`
	}
	api(t, a, "GET", "/api/v1/officials", nil, &dir)
	if len(dir.Officials) != 2 {
		t.Fatalf("officials: %d, want 2", len(dir.Officials))
	}
	m := dir.Officials[1]
	if m.ID != "dieppe-maire" || m.Role != "maire" || m.Arrondissement != "Dieppe" || len(m.Numbers) != 2 ||
		m.Numbers[0].E164 != "+33639980001" || m.Numbers[1].Kind != tocsin.Landline || len(m.Deputies) != 1 {
		t.Errorf("imported mayor: %+v", m)
	}
}

// The first start with the simulator opens on a live demo exercise; a
// restart on the same data launches no other.
func TestFirstStartWithTheDemoLaunchesOneDemoExercise(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := app.Config{DataDir: dir, DemoDirectory: true, DemoActivation: true, ExercisePlaybook: "test-tous"}
	a := mustRunApp(t, cfg)
	var list struct{ Activations []view }
	if st := api(t, a, "GET", "/api/v1/activations", nil, &list); st != http.StatusOK || len(list.Activations) != 1 {
		t.Fatalf("activations after the first start: status %d, %d; want one", st, len(list.Activations))
	}
	if d := list.Activations[0]; !d.Exercise || d.CreatedBy != app.DemoUser || d.Targeted != len(directory.Demo()) {
		t.Errorf("demo activation %+v; want an exercise of the whole demo directory by %q", d.Activation, app.DemoUser)
	}
	// Its CIP is open, and the simulator's callers ring its public line.
	id := list.Activations[0].ID
	testingutil.Await(t, 10*time.Second, "a caller of the demo's public line counted", func() (cipPanelView, bool) {
		var p cipPanelView
		api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
		return p, p.Open && p.InPosition > 0 && p.Calls.Queued > 0
	})
	a.Close()
	b := mustRunApp(t, cfg)
	if st := api(t, b, "GET", "/api/v1/activations", nil, &list); st != http.StatusOK || len(list.Activations) != 1 {
		t.Fatalf("activations after a restart: status %d, %d; want still one", st, len(list.Activations))
	}
}

// A closed activation's figures are kept for lists, and follow a
// recipient written afterwards (a late status callback).
func TestListFollowsALateChangeToAClosedActivation(t *testing.T) {
	t.Parallel()
	m := fictionMobile(70)
	e := startEscalation(t, []tocsin.Official{mayorOf("dieppe", mobile(m))}, map[string]twiliosim.Persona{m: {Behaviour: twiliosim.Silent}})
	e.until("SMS delivered", time.Minute, func() bool { return e.recipient("dieppe").Status == tocsin.StatusDelivered })
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/close", nil, nil); st != http.StatusOK {
		t.Fatalf("close: status %d", st)
	}
	e.clock.Advance(2 * time.Hour)
	summary := func() tocsin.Summary {
		t.Helper()
		var list struct{ Activations []view }
		if st := api(t, e.app, "GET", "/api/v1/activations", nil, &list); st != http.StatusOK || len(list.Activations) != 1 {
			t.Fatalf("list: status %d, %d activations", st, len(list.Activations))
		}
		return list.Activations[0].Summary
	}
	for range 2 { // computed, then kept
		if s := summary(); s.Delivered != 1 || s.Informed != 0 || s.WithinDeadline == nil || *s.WithinDeadline || s.TimeLeft > -3000 {
			t.Fatalf("summary %+v; want delivered, not informed, deadline missed and past", s)
		}
	}
	if _, err := e.app.Store().UpdateRecipient(t.Context(), e.id, "dieppe", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		at := e.clock.Now().UTC()
		r.InformedAt, r.InformedHow, r.Status = &at, "sms", tocsin.StatusInformed
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if s := summary(); s.Informed != 1 || s.NotInformed != 0 || s.LastInformedAt == nil {
		t.Errorf("after a late change: %+v; want informed", s)
	}
}

// The authentication scheme is case-insensitive; a route asked with a
// method it does not take answers 405 and says which it takes; a path no
// route has, 404.
func TestAPISchemeCaseAndMethods(t *testing.T) {
	t.Parallel()
	a := mustRunApp(t, app.Config{})
	do := func(method, path, auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL()+path, nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("GET", "/api/v1/me", "bearer "+adminToken); resp.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer: %d, want 200", resp.StatusCode)
	}
	if resp := do("GET", "/api/v1/me", "Basic "+adminToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another scheme: %d, want 401", resp.StatusCode)
	}
	if resp := do("DELETE", "/api/v1/activations", "Bearer "+adminToken); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE /api/v1/activations: %d, Allow %q; want 405, GET, POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp := do("GET", "/api/v1/nulle-part", "Bearer "+adminToken); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", resp.StatusCode)
	}
}
