package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Two duty officers press « J'appelle » on the same mayor at the same
// moment: one has her, the other is told who. The holder reaches the
// voicemail, says so, lets her go; the other takes her, reaches her and
// confirms. Every step is in the timeline and the audit trail.
func TestTwoOfficersCallTheSameMayor(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	anne := loginAs(t, a, "anne", tocsin.RoleOfficer)
	paul := loginAs(t, a, "paul", tocsin.RoleOfficer)
	take := "/activations/" + id + "/appeler/maire-1/prendre"

	type answer struct {
		who, body string
		status    int
	}
	answers := make(chan answer, 2)
	var wg sync.WaitGroup
	for _, b := range []struct {
		name string
		b    *browser
	}{{"anne", anne}, {"paul", paul}} {
		wg.Go(func() {
			st, body, _ := b.b.postCSRF(take, nil)
			answers <- answer{b.name, body, st}
		})
	}
	wg.Wait()
	close(answers)
	var holder, other string
	for ans := range answers {
		switch ans.status {
		case http.StatusSeeOther:
			if holder != "" {
				t.Fatalf("both officers hold the mayor (%s and %s)", holder, ans.who)
			}
			holder = ans.who
		case http.StatusConflict:
			other = ans.who
			if !strings.Contains(ans.body, "déjà appelé·e par") {
				t.Errorf("refusal to %s: want it to say who calls the mayor; page:\n%s", ans.who, ans.body)
			}
		default:
			t.Fatalf("%s taking the mayor: status %d", ans.who, ans.status)
		}
	}
	if holder == "" || other == "" {
		t.Fatalf("holder %q, refused %q: want one of each", holder, other)
	}
	officer := map[string]*browser{"anne": anne, "paul": paul}
	if _, page := officer[other].get("/activations/" + id + "/appeler"); !strings.Contains(page, "Appelé·e par "+holder) {
		t.Errorf("%s's calling view does not say that %s calls the mayor", other, holder)
	}
	if _, page := officer[holder].get("/activations/" + id + "/appeler"); !strings.Contains(page, "Vous appelez depuis") {
		t.Errorf("%s's calling view does not say that she calls the mayor", holder)
	}
	if _, page := officer[other].get("/activations/" + id); !strings.Contains(page, "Appelé·e par "+holder) {
		t.Errorf("the officials' table does not say that %s calls the mayor", holder)
	}

	// Bad input changes nothing; the other officer may not let her go.
	if st, _, _ := officer[holder].postCSRF("/activations/"+id+"/appeler/maire-1/echec", url.Values{"issue": {"occupé"}}); st != http.StatusBadRequest {
		t.Errorf("an unknown outcome: status %d; want 400", st)
	}
	if st, _, _ := officer[holder].postCSRF("/activations/"+id+"/appeler/maire-1/echec", url.Values{"issue": {"other"}}); st != http.StatusBadRequest {
		t.Errorf("« autre » without a note: status %d; want 400", st)
	}
	if st, body, _ := officer[other].postCSRF("/activations/"+id+"/appeler/maire-1/liberer", nil); st != http.StatusConflict || !strings.Contains(body, "seul·e "+holder) {
		t.Errorf("%s releasing %s's mayor: status %d; want 409 naming %s", other, holder, st, holder)
	}
	if st, _, loc := officer[holder].postCSRF("/activations/"+id+"/appeler/maire-1/echec",
		url.Values{"issue": {"voicemail"}, "numero": {fictionMobile(201)}, "note": {"message laissé"}}); st != http.StatusSeeOther || !strings.Contains(loc, "#carte-maire-1") {
		t.Fatalf("voicemail: status %d to %q; want back to the card", st, loc)
	}
	if _, page := officer[other].get("/activations/" + id); !strings.Contains(page, `Toutes les tentatives (<span data-field="history-count">2</span>)`) ||
		!strings.Contains(page, "appel à la main par "+holder+" au 06 39 98 02 01 : messagerie (message laissé)") {
		t.Errorf("the officials' table does not list every attempt, the call by hand among them")
	}
	if st, _, _ := officer[holder].postCSRF("/activations/"+id+"/appeler/maire-1/liberer", nil); st != http.StatusSeeOther {
		t.Fatalf("release: status %d", st)
	}
	if st, _, _ := officer[other].postCSRF(take, nil); st != http.StatusSeeOther {
		t.Fatalf("%s taking the released mayor: status %d", other, st)
	}
	if st, _, loc := officer[other].postCSRF("/activations/"+id+"/confirmer/maire-1",
		url.Values{"moyen": {"téléphone"}, "retour": {"appeler"}}); st != http.StatusSeeOther || !strings.Contains(loc, "/appeler?info=confirm") {
		t.Fatalf("confirm from the calling view: status %d to %q", st, loc)
	}

	// « Relancer les non informés » asks for the box; the playbook has
	// nothing after its SMS, so nobody is rushed, and the page says so.
	if st, _, _ := anne.postCSRF("/activations/"+id+"/relancer", nil); st != http.StatusBadRequest {
		t.Errorf("rush all without the box: status %d; want 400", st)
	}
	if st, _, loc := anne.postCSRF("/activations/"+id+"/relancer", url.Values{"confirmation": {"oui"}}); st != http.StatusSeeOther || !strings.HasSuffix(loc, "?info=relances&n=0") {
		t.Errorf("rush all: status %d to %q; want back to the activation, 0 rushed", st, loc)
	} else if _, page := anne.get(loc); !strings.Contains(page, "pour 0 élu(s) non informé(s)") {
		t.Errorf("the activation page does not say how many were rushed")
	}

	var v view
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &v)
	var mayor *tocsin.Recipient
	for i := range v.Recipients {
		if v.Recipients[i].Official.ID == "maire-1" {
			mayor = &v.Recipients[i]
		}
	}
	if mayor.InformedAt == nil || mayor.Claim != nil || len(mayor.Calls) != 1 || mayor.Calls[0].Outcome != tocsin.CallVoicemail || mayor.Calls[0].By != holder {
		t.Errorf("the mayor: informed %v, claim %+v, calls %+v; want informed, no claim, one voicemail by %s", mayor.InformedAt, mayor.Claim, mayor.Calls, holder)
	}
	kinds := map[string]int{}
	for _, e := range v.Timeline {
		kinds[e.Kind]++
	}
	if kinds[tocsin.EventClaimed] != 2 || kinds[tocsin.EventReleased] != 1 || kinds[tocsin.EventCalled] != 1 {
		t.Errorf("timeline kinds %v; want 2 claimed, 1 released, 1 called", kinds)
	}
	testingutil.Eventually(t, 5*time.Second, "the calls in the audit trail", func() bool {
		var trail struct {
			Entries []tocsin.AuditEntry `json:"entries"`
		}
		api(t, a, "GET", "/api/v1/audit?activation="+id, nil, &trail)
		actions := map[string]int{}
		for _, e := range trail.Entries {
			actions[e.Action]++
		}
		return actions[tocsin.AuditClaimed] == 2 && actions[tocsin.AuditReleased] == 1 && actions[tocsin.AuditCalled] == 1 && actions[tocsin.AuditConfirmed] == 1
	})
}

// The API does what the calling view does: the list to call, taking an
// official, a call that failed, letting go.
func TestCallingThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	var list struct {
		Count     int `json:"count"`
		Officials []struct {
			ID string `json:"id"`
		} `json:"officials"`
	}
	if st := api(t, a, "GET", "/api/v1/activations/"+id+"/to-call", nil, &list); st != http.StatusOK || list.Count != 0 {
		t.Errorf("to-call at once: status %d, %d officials; want nobody yet", st, list.Count)
	}
	if st := api(t, a, "GET", "/api/v1/activations/"+id+"/to-call?format=pdf", nil, nil); st != http.StatusBadRequest {
		t.Errorf("to-call as pdf: status %d; want 400", st)
	}
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	if st, csv := b.get("/activations/" + id + "/appeler.csv"); st != http.StatusOK || !strings.HasPrefix(csv, "élu,rôle,commune,statut,numéros,suppléants,appelé par,tentatives\n") {
		t.Errorf("the list as CSV: status %d\n%s", st, csv)
	}
	testingutil.Eventually(t, 5*time.Second, "the export in the audit trail, under the auditor's name", func() bool {
		var trail struct {
			Entries []tocsin.AuditEntry `json:"entries"`
		}
		api(t, a, "GET", "/api/v1/audit?activation="+id, nil, &trail)
		for _, e := range trail.Entries {
			if e.Action == tocsin.AuditExport && e.Actor == "auditrice" && strings.Contains(e.Detail, "« à appeler »") {
				return true
			}
		}
		return false
	})
	base := "/api/v1/activations/" + id + "/recipients/maire-2"
	var r tocsin.Recipient
	if st := api(t, a, "POST", base+"/claim", nil, &r); st != http.StatusOK || r.Claim == nil || r.Claim.By != "admin" {
		t.Fatalf("claim: status %d, claim %+v", st, r.Claim)
	}
	var refused struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}
	if st := api(t, a, "POST", base+"/calls", map[string]string{"outcome": "no-answer", "number": "+33100000000"}, &refused); st != http.StatusBadRequest || refused.Error.Field != "number" {
		t.Errorf("a number not the mayor's: status %d %+v; want 400 on number", st, refused)
	}
	if st := api(t, a, "POST", base+"/calls", map[string]string{"outcome": "wrong-number", "number": fictionMobile(202)}, &r); st != http.StatusOK || len(r.Calls) != 1 {
		t.Errorf("wrong number: status %d, calls %+v", st, r.Calls)
	}
	var released tocsin.Recipient
	if st := api(t, a, "DELETE", base+"/claim", nil, &released); st != http.StatusOK || released.Claim != nil {
		t.Errorf("release: status %d, claim %+v", st, released.Claim)
	}
	if st := api(t, a, "DELETE", base+"/claim", nil, &refused); st != http.StatusConflict || !strings.Contains(refused.Error.Message, "rien à libérer") {
		t.Errorf("release again: status %d %+v; want 409", st, refused)
	}
}

// A claim lapses on its own: the officer who took the mayor went quiet,
// and past --claim-for another may take her.
func TestAClaimLapses(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC))
	a := silentApp(t, app.Config{Clock: clock, ClaimFor: 3 * time.Minute})
	id := mustActivate(t, a)
	anne := loginAs(t, a, "anne", tocsin.RoleOfficer)
	paul := loginAs(t, a, "paul", tocsin.RoleOfficer)
	take := "/activations/" + id + "/appeler/maire-3/prendre"
	if st, _, _ := anne.postCSRF(take, nil); st != http.StatusSeeOther {
		t.Fatalf("anne takes the mayor: status %d", st)
	}
	clock.Advance(2 * time.Minute)
	if st, body, _ := paul.postCSRF(take, nil); st != http.StatusConflict || !strings.Contains(body, "03:03 au plus tard") {
		t.Errorf("paul, two minutes later: status %d; want 409 saying until when anne holds her (03:03 in Paris)", st)
	}
	clock.Advance(time.Minute)
	if st, _, _ := paul.postCSRF(take, nil); st != http.StatusSeeOther {
		t.Errorf("paul, once the claim lapsed: status %d; want him to take her", st)
	}
}
