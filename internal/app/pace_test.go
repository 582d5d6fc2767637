package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Twilio accepts 4 SMS a second while Tocsin is set to 50: the API, the
// console and the forecast say how fast it really goes, and that Twilio is
// what limits it.
func TestTheRealRateIsShownWhenTwilioLimitsIt(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile, SMSRate: 50})
	mustMayors(t, a, 200)
	a.Simulator().SetRateLimits(4, 0)
	var created view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &created); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	var limited struct {
		Pace *tocsin.Pace `json:"pace"`
	}
	testingutil.Eventually(t, 20*time.Second, "a limited pace in the API", func() bool {
		api(t, a, "GET", "/api/v1/activations/"+created.ID, nil, &limited)
		return limited.Pace != nil && limited.Pace.SMS != nil && limited.Pace.SMS.Limited
	})
	if p := limited.Pace.SMS; p.Ceiling != 50 || p.PerSecond >= 50 {
		t.Errorf("pace %+v, want below the configured 50/s", p)
	}
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if st, html := b.get("/"); st != http.StatusOK || !strings.Contains(html, "SMS/s, limité par Twilio (réglé à 50)") {
		t.Errorf("dashboard (status %d) does not say the real rate on the activation's card", st)
	}
	if st, html := b.get("/activations/" + created.ID); st != http.StatusOK || !strings.Contains(html, "Débit réel : ") ||
		!strings.Contains(html, "SMS/s, limité par Twilio (réglé à 50)") {
		t.Errorf("activation page (status %d) does not say the real rate", st)
	}
	var preview struct {
		Forecast struct {
			Warning string `json:"warning"`
		} `json:"forecast"`
		Pace *tocsin.Pace `json:"pace"`
	}
	if st := api(t, a, "POST", "/api/v1/activations/preview", map[string]any{"playbook": "test-tous"}, &preview); st != http.StatusOK || preview.Pace == nil {
		t.Errorf("preview (status %d): pace %+v, want the limited pace the forecast goes by", st, preview.Pace)
	}
}
