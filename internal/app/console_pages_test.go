package app_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// An activation too large for one page is shown a page at a time, the
// first to call first, with the server's search; the filters count the
// whole activation. The calling view shows its cards a page at a time too.
func TestALargeActivationIsShownAPageAtATime(t *testing.T) {
	t.Parallel()
	const n = 450
	a, id := mustActivateAllToCall(t, n, func(os []tocsin.Official) {
		os[321].Name, os[321].CommuneName, os[321].Commune = "Jeanne Leroy", "Étretat", "76254"
	})
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/recipients/m007/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
		t.Fatalf("confirm: status %d", st)
	}
	br := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	rows := regexp.MustCompile(`<tr id="elu-([^"]+)"([^>]*)>`)
	page := func(path string) (string, []string) {
		t.Helper()
		st, body := br.get(path)
		if st != http.StatusOK {
			t.Fatalf("%s: status %d", path, st)
		}
		var ids []string
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			if strings.Contains(m[2], " hidden") {
				t.Errorf("%s: row %s hidden on a page of a long list", path, m[1])
			}
			ids = append(ids, m[1])
		}
		return body, ids
	}

	body, ids := page("/activations/" + id)
	if len(ids) != 200 || ids[0] != "m000" || ids[len(ids)-1] == "m007" {
		t.Fatalf("first page: %d rows from %v; want 200, the officials to call first", len(ids), ids[:min(3, len(ids))])
	}
	for _, want := range []string{"Élus 1 à 200 sur 450 de cette liste", "Page 1 sur 3", `data-paged="true"`,
		`data-filter-count="">450<`, `data-filter-count="non-informes">449<`, `data-filter-count="a-appeler">449<`} {
		if !strings.Contains(body, want) {
			t.Errorf("first page lacks %q", want)
		}
	}
	_, ids = page("/activations/" + id + "?page=3")
	if len(ids) != 50 || ids[len(ids)-1] != "m007" {
		t.Errorf("last page: %d rows ending with %v; want 50, the informed one last", len(ids), ids[len(ids)-1:])
	}
	body, ids = page("/activations/" + id + "?filtre=a-appeler&q=etretat")
	if len(ids) != 1 || ids[0] != "m321" || !strings.Contains(body, "Élus 1 à 1 sur 1 de cette liste correspondant à « etretat »") {
		t.Errorf("search « etretat » in the list to call: %v; want m321 alone", ids)
	}
	if _, ids = page("/activations/" + id + "?filtre=a-appeler&q=0600000007"); len(ids) != 0 {
		t.Errorf("search of an informed official's number in the list to call: %v; want none", ids)
	}
	if _, ids = page("/activations/" + id + "?q=06%2000%2000%2000%2007"); len(ids) != 1 || ids[0] != "m007" {
		t.Errorf("search of a number as written: %v; want m007", ids)
	}

	body, ids = page("/activations/" + id + "?tri=nom")
	if len(ids) != 200 || ids[0] != "m321" || !strings.Contains(body, `href="/activations/`+id+`?filtre=a-appeler&amp;tri=nom#elus"`) {
		t.Errorf("by name: first %v; want m321 (Jeanne Leroy) first, and the filters keeping the order", ids[:min(1, len(ids))])
	}
	if _, ids = page("/activations/" + id + "?tri=commune&page=3"); len(ids) != 50 || ids[len(ids)-1] != "m321" {
		t.Errorf("by commune, last page: %d rows ending with %v; want Étretat's mayor after Dieppe's", len(ids), ids[len(ids)-1:])
	}

	st, calling := br.get("/activations/" + id + "/appeler?page=2")
	if st != http.StatusOK {
		t.Fatalf("calling view: status %d", st)
	}
	if n := strings.Count(calling, `<li class="tc-card" id="carte-`); n != 50 || !strings.Contains(calling, "Élus 51 à 100 sur 449 à appeler") ||
		!strings.Contains(calling, "Page 2 sur 9") {
		t.Errorf("calling view, page 2: %d cards; want 50, « Élus 51 à 100 sur 449 à appeler », « Page 2 sur 9 »", n)
	}
}

// mustActivateAllToCall runs the app over n mayors (m000, m001…), edited
// by edit, and activates a playbook that puts them all on the « à
// appeler » list at once, sending nothing; it returns once every
// recipient is written.
func mustActivateAllToCall(tb testing.TB, n int, edit func([]tocsin.Official)) (*app.App, string) {
	tb.Helper()
	dir := tb.TempDir()
	writeFile(tb, filepath.Join(dir, "tous.yaml"), allToCallPlaybook)
	a := mustRunApp(tb, app.Config{PlaybooksDir: dir})
	officials := numberedMayors(n)
	if edit != nil {
		edit(officials)
	}
	if err := a.Store().ReplaceOfficials(tb.Context(), officials); err != nil {
		tb.Fatal(err)
	}
	var v view
	if st := api(tb, a, "POST", "/api/v1/activations", map[string]any{"playbook": "tous", "exercise": true}, &v); st != http.StatusCreated {
		tb.Fatalf("create: status %d", st)
	}
	waitFor(tb, a, v.ID, 5*time.Minute, "every recipient written", func(v *view) bool { return len(v.Recipients) == n })
	return a, v.ID
}

// numberedMayors returns n mayors, m000, m001…, with the mobiles
// +33600000000, +33600000001…
func numberedMayors(n int) []tocsin.Official {
	officials := make([]tocsin.Official, n)
	for i := range officials {
		officials[i] = mayorOf(fmt.Sprintf("m%03d", i), mobile(fmt.Sprintf("+336%08d", i)))
	}
	return officials
}
