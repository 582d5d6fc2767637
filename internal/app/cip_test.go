package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

type roster struct {
	Operators []tocsin.Operator `json:"operators"`
	Count     int               `json:"count"`
	Available int               `json:"available"`
}

// The administrator imports the CIP's roster through the API: a file with
// an error changes nothing and says where; a good one replaces the roster,
// with its entry in the audit trail; an auditor reads it but may not
// import.
func TestCIPRosterImportThroughAPI(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	if err := a.Store().CreateUserWithToken(t.Context(), tocsin.User{Name: "lecteur", Role: tocsin.RoleAuditor}, "auditor-token"); err != nil {
		t.Fatal(err)
	}
	good := "id;nom;mobile;fixe;disponible\n" +
		"cip-01;Anne Lecourt;06 39 98 10 01;;oui\n" +
		"cip-02;Paul Vasseur;06 39 98 10 02;02 61 91 10 02;non\n"
	if st, body := rawRequest(t, a, "PUT", "/api/v1/cip/operators", adminToken, "text/csv", good); st != 200 || !strings.Contains(body, `"imported": 2`) {
		t.Fatalf("import: %d %s", st, body)
	}
	bad := "id;nom;mobile;disponible\n" +
		"cip-03;Lise Morin;06 39 98 10 03;peut-être\n"
	st, body := rawRequest(t, a, "PUT", "/api/v1/cip/operators", adminToken, "text/csv", bad)
	if st != 400 || !strings.Contains(body, "ligne 2, colonne « disponible »") {
		t.Errorf("bad import: %d %s; want 400 naming line 2, column « disponible »", st, body)
	}
	if st, _ := rawRequest(t, a, "PUT", "/api/v1/cip/operators", "auditor-token", "text/csv", good); st != 403 {
		t.Errorf("auditor imports: %d, want 403", st)
	}
	var r roster
	if st, _ := rawRequest(t, a, "GET", "/api/v1/cip/operators", "auditor-token", "", ""); st != 200 {
		t.Errorf("auditor reads: %d, want 200", st)
	}
	api(t, a, "GET", "/api/v1/cip/operators", nil, &r)
	if r.Count != 2 || r.Available != 1 || r.Operators[1].ID != "cip-02" || r.Operators[1].Available || len(r.Operators[1].Numbers) != 2 {
		t.Errorf("roster after a good then a bad import: %+v; want the 2 operators of the good one, 1 available", r)
	}
	var entries []tocsin.AuditEntry
	for deadline := time.Now().Add(10 * time.Second); len(entries) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var all auditEntries
		api(t, a, "GET", "/api/v1/audit", nil, &all)
		entries = slices.DeleteFunc(all.Entries, func(e tocsin.AuditEntry) bool { return e.Action != tocsin.AuditCIPRoster })
	}
	if len(entries) != 1 || entries[0].Actor != "admin" || !strings.Contains(entries[0].Detail, "2 opérateurs, 1 disponibles") {
		t.Errorf("audit of the roster: %+v; want one entry for the good import", entries)
	}
}

// From the console, the administrator uploads the roster; the page lists
// the operators and their availability, or every error of a bad file.
func TestConsoleCIPRosterImport(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	b := loginAs(t, a, "administrateur", tocsin.RoleAdmin)
	upload := func(csv string) (int, string, string) { return b.upload("/cip/import", "cip.csv", csv) }
	st, html, _ := upload("id;nom;mobile\ncip-01;Anne Lecourt;06 12\ncip-01;Paul Vasseur;06 39 98 10 02\n")
	if st != http.StatusBadRequest {
		t.Fatalf("bad import: status %d, want 400", st)
	}
	for _, s := range []string{"La liste en vigueur n'a pas changé", "ligne 2, colonne « mobile »", "ligne 3, colonne « id »"} {
		if !strings.Contains(strings.ReplaceAll(html, "&#39;", "'"), s) {
			t.Errorf("bad import page lacks %q", s)
		}
	}
	if st, _, loc := upload("id;nom;mobile;disponible\ncip-01;Anne Lecourt;06 39 98 10 01;oui\ncip-02;Paul Vasseur;06 39 98 10 02;non\n"); st != http.StatusSeeOther || loc != "/cip?importe=2" {
		t.Fatalf("good import: status %d to %q, want 303 to /cip?importe=2", st, loc)
	}
	st, html = b.get("/cip?importe=2")
	for _, s := range []string{"Liste importée : 2 opérateurs", "Anne Lecourt", "06 39 98 10 02", "2 opérateurs, dont 1 disponibles", "indisponible"} {
		if !strings.Contains(html, s) {
			t.Errorf("roster page (%d) lacks %q", st, s)
		}
	}
}
