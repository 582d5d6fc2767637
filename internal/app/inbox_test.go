package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Two mayors answer what is not an acknowledgement: « Mauvais numéro »
// and a question. Neither is informed; both replies wait in the
// activation's inbox, with what they are about, until an officer marks
// them handled, once (timeline, audit). An auditor reads the inbox and
// cannot mark it.
func TestRepliesThatDoNotAcknowledgeWaitInTheInbox(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}, Delivery: twiliosim.Fixed(20 * time.Millisecond),
		Numbers: map[string]twiliosim.Persona{
			fictionMobile(1): replying("Mauvais numéro, je ne suis pas le maire"),
			fictionMobile(2): replying("Faut-il évacuer l'école ?"),
			fictionMobile(3): replying("Bien reçu, merci"),
		}}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{
		mayorOf("dieppe", mobile(fictionMobile(1))), mayorOf("arques", mobile(fictionMobile(2))), mayorOf("eu", mobile(fictionMobile(3)))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	type inbox struct {
		Replies []struct {
			Seq, Official, Text, Concern string
			Handled                      *tocsin.Handled
		} `json:"replies"`
	}
	var box inbox
	// Arques is told how to confirm, and asks again: three replies.
	waitFor(t, a, v.ID, 10*time.Second, "three replies in the inbox, the third mayor informed", func(v *view) bool {
		box = inbox{}
		api(t, a, "GET", "/api/v1/activations/"+v.ID+"/replies", nil, &box)
		return len(box.Replies) == 3 && v.Summary.Informed == 1
	})
	concerns := map[string]string{}
	for _, r := range box.Replies {
		concerns[r.Official] = r.Concern
		if r.Handled != nil {
			t.Errorf("%s's reply handled before anyone did", r.Official)
		}
	}
	if concerns["dieppe"] != tocsin.ConcernNumber || concerns["arques"] != tocsin.ConcernQuestion {
		t.Errorf("concerns %v; want a wrong number for dieppe, a question for arques", concerns)
	}

	officer := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if _, page := officer.get("/activations/" + v.ID); !strings.Contains(page, "Réponses à traiter (<span data-unhandled data-counter=\"inbox\">3</span>)") || !strings.Contains(page, "Faut-il évacuer l&#39;école ?") {
		t.Errorf("the activation page shows no inbox of 3 replies")
	}
	seq := box.Replies[0].Seq
	if st, _, loc := officer.postCSRF("/activations/"+v.ID+"/reponses/"+seq+"/traitee", nil); st != http.StatusSeeOther || !strings.Contains(loc, "info=traitee") {
		t.Fatalf("mark handled from the console: status %d to %q", st, loc)
	}
	if _, page := officer.get("/activations/" + v.ID); !strings.Contains(page, "Réponses à traiter (<span data-unhandled data-counter=\"inbox\">2</span>)") || !strings.Contains(page, "Traitée par permanence") {
		t.Errorf("after one handled: the page does not say so")
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+v.ID+"/replies/"+seq+"/handled", nil, nil); st != http.StatusConflict {
		t.Errorf("handled twice: status %d, want 409", st)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+v.ID+"/replies/inconnue/handled", nil, nil); st != http.StatusNotFound {
		t.Errorf("an unknown reply: status %d, want 404", st)
	}
	auditor := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	if st, _, _ := auditor.postCSRF("/activations/"+v.ID+"/reponses/"+box.Replies[1].Seq+"/traitee", nil); st != http.StatusForbidden {
		t.Errorf("an auditor marking a reply handled: status %d, want 403", st)
	}
	if n := countAudit(t, a, v.ID, tocsin.AuditReplyHandled, "permanence"); n != 1 {
		t.Errorf("%d audit entries of a reply handled, want 1", n)
	}
}
