package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// At 3 a.m. the officer calling reports a wrong number: the mayor of
// Dieppe's SMS went to somebody else's phone, who never answers. The
// administrator corrects it once:
// the directory takes it, and the open activation too, for the attempts
// still to come: the new number is texted at once, without waiting for
// the next rung, and the mayor's reply from it informs them. The old
// number no longer answers for the mayor. A deputy's correction reaches
// the officials they stand in for. Everything is in the timeline and the
// audit trail; bad numbers are refused field by field, and changes nothing.
func TestAWrongNumberIsFixedDuringTheActivation(t *testing.T) {
	t.Parallel()
	wrong, right, deputyOld, deputyNew := fictionMobile(1), fictionMobile(2), fictionMobile(3), fictionMobile(4)
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}, Delivery: twiliosim.Fixed(20 * time.Millisecond),
		Numbers: map[string]twiliosim.Persona{
			wrong: {Behaviour: twiliosim.Silent},
			right: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(100 * time.Millisecond)},
		}}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	dieppe := mayorOf("dieppe", mobile(wrong))
	arques := mayorOf("arques", mobile(fictionMobile(5)))
	arques.Deputies = []string{"adjoint"}
	deputy := tocsin.Official{ID: "adjoint", Name: "Adjoint d'Arques", Role: "adjoint", Commune: "76005", CommuneName: "Arques-la-Bataille",
		Arrondissement: "Dieppe", Numbers: []tocsin.Number{mobile(deputyOld)}}
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{dieppe, arques, deputy}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	waitFor(t, a, v.ID, 10*time.Second, "the SMS delivered to the wrong number", func(v *view) bool {
		for _, r := range v.Recipients {
			if r.Official.ID == "dieppe" && len(r.Attempts) > 0 && r.Attempts[0].Status == tocsin.AttemptDelivered {
				return true
			}
		}
		return false
	})

	// Refused, field by field; nothing changes.
	var refused struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if st := api(t, a, "PUT", "/api/v1/officials/dieppe/numbers", map[string]any{"mobile": []string{"02 35 00 00 00", "12"}}, &refused); st != http.StatusBadRequest && st != http.StatusUnprocessableEntity {
		t.Errorf("bad numbers: status %d", st)
	}
	if st := api(t, a, "PUT", "/api/v1/officials/personne/numbers", map[string]any{"mobile": []string{right}}, nil); st != http.StatusNotFound {
		t.Errorf("unknown official: status %d, want 404", st)
	}
	if err := a.Store().CreateUserWithToken(t.Context(), tocsin.User{Name: "permanence", Role: tocsin.RoleOfficer}, "officer-token"); err != nil {
		t.Fatal(err)
	}
	if st := apiAs(t, a, "officer-token", "PUT", "/api/v1/officials/dieppe/numbers", map[string]any{"mobile": []string{right}}, nil); st != http.StatusForbidden {
		t.Errorf("an officer correcting numbers: status %d, want 403", st)
	}
	numbersOf := func(id string) string {
		os, err := a.Store().Officials(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			if o.ID == id {
				return tocsin.NumbersList(o.Numbers)
			}
		}
		return ""
	}
	if got := numbersOf("dieppe"); got != wrong+" (mobile)" {
		t.Fatalf("a refused correction changed the directory: %s", got)
	}

	var fixed struct {
		Activations []string `json:"activations"`
	}
	if st := api(t, a, "PUT", "/api/v1/officials/dieppe/numbers", map[string]any{"mobile": []string{"06 39 98 00 02"}}, &fixed); st != http.StatusOK ||
		len(fixed.Activations) != 1 || fixed.Activations[0] != v.ID {
		t.Fatalf("correction: status %d, %+v; want the open activation changed", st, fixed)
	}
	testingutil.ExpectSMS(t, a.Simulator(), right, "Alerte de test")
	final := waitFor(t, a, v.ID, 10*time.Second, "the mayor of Dieppe informed by the new number", func(v *view) bool {
		for _, r := range v.Recipients {
			if r.Official.ID == "dieppe" {
				return r.InformedAt != nil && r.InformedFrom == right
			}
		}
		return false
	})
	var events []string
	for _, e := range final.Timeline {
		if e.Kind == tocsin.EventNumbersFixed {
			events = append(events, e.Detail)
		}
	}
	if len(events) != 1 || !strings.Contains(events[0], right) || !strings.Contains(events[0], wrong) {
		t.Errorf("timeline of the correction: %q", events)
	}
	if got := numbersOf("dieppe"); got != right+" (mobile)" {
		t.Errorf("directory after the correction: %s", got)
	}
	// The old number no longer answers for the mayor.
	acts, ids, err := a.Store().OpenByNumber(t.Context(), wrong)
	if err != nil || len(acts) != 0 {
		t.Errorf("the old number still answers for %v in %d activations (%v)", ids, len(acts), err)
	}

	// A deputy's new number reaches the official they stand in for.
	if st := api(t, a, "PUT", "/api/v1/officials/adjoint/numbers", map[string]any{"mobile": []string{deputyNew}}, nil); st != http.StatusOK {
		t.Fatalf("deputy's correction: status %d", st)
	}
	r, err := a.Store().Recipient(t.Context(), v.ID, "arques")
	if err != nil || len(r.Deputies) != 1 || r.Deputies[0].Numbers[0].E164 != deputyNew || len(r.Fixes) != 1 {
		t.Errorf("arques after the deputy's correction: %+v (%v)", r, err)
	}
	// The deputy is an official of the audience too: the number answers
	// for both.
	if _, ids, _ := a.Store().OpenByNumber(t.Context(), deputyNew); len(ids) != 1 || strings.Join(ids[0], ",") != "adjoint,arques" {
		t.Errorf("the deputy's new number answers for %v; want adjoint and arques", ids)
	}
	if _, ids, _ := a.Store().OpenByNumber(t.Context(), deputyOld); len(ids) != 0 {
		t.Errorf("the deputy's old number still answers for %v", ids)
	}

	// From the console: the administrator's directory page offers the
	// correction; a bad number is named and changes nothing.
	b := loginAs(t, a, "administratrice", tocsin.RoleAdmin)
	if _, page := b.get("/annuaire?q=arques"); !strings.Contains(page, `action="/annuaire/arques/numeros"`) {
		t.Error("the directory page offers no correction to the administrator")
	}
	if st, page, _ := b.postCSRF("/annuaire/arques/numeros", url.Values{"mobile": {"02 35 00 00 00"}}); st != http.StatusBadRequest ||
		!strings.Contains(page, "mobile[0]") || !strings.Contains(page, "est une ligne fixe") {
		t.Errorf("a landline as a mobile: status %d", st)
	}
	if st, _, loc := b.postCSRF("/annuaire/arques/numeros", url.Values{"mobile": {fictionMobile(6)}, "fixe": {"02 61 91 00 07"}}); st != http.StatusSeeOther ||
		!strings.Contains(loc, "corrige=arques") || !strings.Contains(loc, "activations=1") {
		t.Errorf("the console's correction: status %d to %q", st, loc)
	}
	if got := numbersOf("arques"); got != fictionMobile(6)+" (mobile), +33261910007 (fixe)" {
		t.Errorf("arques after the console's correction: %s", got)
	}

	if n := countAudit(t, a, "", tocsin.AuditNumbersFixed); n != 7 { // dieppe: directory and recipient; adjoint: directory, own recipient and arques's; arques: directory and recipient
		t.Errorf("%d audit entries of corrections, want 7", n)
	}
}
