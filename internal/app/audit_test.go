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

// The mayor of Dieppe gets the SMS and replies OK: the leader records the
// delivery and the acknowledgement in the audit trail, in one entry of the
// activation, and the chain stays whole.
func TestDeliveryAndAcknowledgementReachTheAuditTrail(t *testing.T) {
	m := fictionMobile(70)
	profile := twiliosim.Profile{Numbers: map[string]twiliosim.Persona{
		m: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(300 * time.Millisecond)},
	}, Delivery: twiliosim.Fixed(50 * time.Millisecond)}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(m))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	waitFor(t, a, v.ID, 10*time.Second, "the mayor informed", func(v *view) bool { return v.Summary.Informed == 1 })
	var said string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var entries auditEntries
		api(t, a, "GET", "/api/v1/audit?activation="+v.ID, nil, &entries)
		said = ""
		for _, e := range entries.Entries {
			if e.Action == tocsin.AuditRecipients {
				said += e.Detail + " | "
			}
		}
		if strings.Contains(said, "dieppe : message distribué") && strings.Contains(said, "dieppe : informé·e par réponse SMS") {
			break
		}
	}
	if !strings.Contains(said, "dieppe : message distribué") || !strings.Contains(said, "dieppe : informé·e par réponse SMS") {
		t.Fatalf("the trail says %q; want the delivery and the reply", said)
	}
	var res struct {
		OK bool `json:"ok"`
	}
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK {
		t.Errorf("the chain is broken")
	}
}
