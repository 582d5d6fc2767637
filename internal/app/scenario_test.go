package app_test

import (
	"fmt"
	"io"
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

// Fifty mayors of Dieppe's arrondissement are texted: 45 reply OK, 3 read
// and never reply, 2 numbers are invalid. Then Tocsin restarts on the same
// data dir, forgets nothing, sends nothing again, and still takes a late
// reply.
func TestFiftyOfficialsFortyFiveReplyThreeSilentTwoInvalid(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{
		Numbers:  map[string]twiliosim.Persona{},
		Delivery: twiliosim.Range{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond},
	}
	var officials []tocsin.Official
	for i := 1; i <= 50; i++ {
		n := fictionMobile(i)
		officials = append(officials, tocsin.Official{
			ID: fmt.Sprintf("maire-%02d", i), Name: fmt.Sprintf("Maire %02d", i), Role: "maire",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
			Numbers: []tocsin.Number{{E164: n, Kind: tocsin.Mobile}},
		})
		switch {
		case i <= 45:
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Reply,
				Delay: twiliosim.Range{Min: 20 * time.Millisecond, Max: 400 * time.Millisecond}}
		case i <= 48:
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Silent}
		default:
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Invalid}
		}
	}
	dataDir := t.TempDir()
	playbooks := t.TempDir()
	cfg := app.Config{DataDir: dataDir, SimulatorProfile: &profile}
	a := mustRunApp(t, withPlaybooks(t, cfg, playbooks))
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}

	before := time.Now().UTC()
	var created view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "note": "scénario"}, &created); st != http.StatusCreated {
		t.Fatalf("create activation: status %d", st)
	}
	if created.Targeted != 50 || created.Exercise || created.State != tocsin.Open {
		t.Fatalf("created: targeted %d exercise %v state %s; want 50, real, open", created.Targeted, created.Exercise, created.State)
	}

	v := waitFor(t, a, created.ID, 30*time.Second, "45 informed and their confirmations delivered, 3 delivered, 2 failed", func(v *view) bool {
		s := v.Summary
		confirmed := 0
		for _, r := range v.Recipients {
			if n := r.Notice(string(tocsin.NoticeConfirmation)); n != nil && n.Status == tocsin.AttemptDelivered {
				confirmed++
			}
		}
		return s.Informed == 45 && s.Failed == 2 && s.Delivered == 48 && confirmed == 45
	})
	after := time.Now().UTC()

	s := v.Summary
	if s.Targeted != 50 || s.Sent != 48 || s.Delivered != 48 || s.Informed != 45 || s.Failed != 2 {
		t.Errorf("summary: got %+v; want targeted 50, sent 48, delivered 48, informed 45, failed 2", s)
	}
	if s.LastInformedAt != nil || s.InformDelay != nil {
		t.Errorf("last informed: got %v; want none while 5 officials are not informed", s.LastInformedAt)
	}
	byID := map[string]tocsin.Recipient{}
	for _, r := range v.Recipients {
		byID[r.Official.ID] = r
	}
	for i := 1; i <= 50; i++ {
		r := byID[fmt.Sprintf("maire-%02d", i)]
		switch {
		case i <= 45:
			if r.Status != tocsin.StatusInformed || r.InformedAt == nil || r.InformedHow != "sms" || r.InformedFrom != fictionMobile(i) {
				t.Errorf("%s: got status %s, informed %v by %q from %q; want informed by sms from its number",
					r.Official.ID, r.Status, r.InformedAt, r.InformedHow, r.InformedFrom)
				continue
			}
			if r.InformedAt.Before(v.ActivatedAt) || r.InformedAt.After(after) || v.ActivatedAt.Before(before) {
				t.Errorf("%s: informed at %s, activated at %s: want activated ≤ informed ≤ now", r.Official.ID, r.InformedAt, v.ActivatedAt)
			}
			if len(r.Attempts) != 1 || r.Attempts[0].Status != tocsin.AttemptDelivered || r.Attempts[0].SID == "" {
				t.Errorf("%s: attempts %+v; want one delivered with a SID", r.Official.ID, r.Attempts)
			}
		case i <= 48:
			if r.Status != tocsin.StatusDelivered || r.InformedAt != nil {
				t.Errorf("%s (silent): got %s informed %v; want delivered, not informed", r.Official.ID, r.Status, r.InformedAt)
			}
		default:
			if r.Status != tocsin.StatusFailed || len(r.Attempts) != 1 || r.Attempts[0].Status != tocsin.AttemptRejected || r.Attempts[0].ErrorCode != 21211 {
				t.Errorf("%s (invalid): got %s %+v; want failed, one attempt rejected with 21211", r.Official.ID, r.Status, r.Attempts)
			}
		}
	}
	// The simulator's own record: each valid number got exactly one
	// alert, and each of the 45 who replied one confirmation.
	sim := a.Simulator()
	testingutil.Eventually(t, 10*time.Second, "45 confirmations", func() bool { return len(outbound(sim.Messages())) >= 48+45 })
	for i := 1; i <= 48; i++ {
		if got := len(testingutil.Alerts(sim, fictionMobile(i))); got != 1 {
			t.Errorf("%s: got %d SMS, want exactly 1", fictionMobile(i), got)
		}
		if got, want := len(testingutil.Notices(sim, fictionMobile(i))), map[bool]int{true: 1}[i <= 45]; got != want {
			t.Errorf("%s: got %d confirmations, want %d", fictionMobile(i), got, want)
		}
	}
	if got := len(outbound(sim.Messages())); got != 48+45 {
		t.Errorf("simulator recorded %d outbound SMS, want 48 alerts and 45 confirmations", got)
	}
	kinds := map[string]int{}
	for _, e := range v.Timeline {
		kinds[e.Kind]++
		if e.At.IsZero() || e.Seq == "" {
			t.Errorf("event without time or seq: %+v", e)
		}
	}
	if kinds[tocsin.EventActivated] != 1 || kinds[tocsin.EventInformed] != 45 || kinds[tocsin.EventRejected] != 2 || kinds[tocsin.EventAttempt] != 50 {
		t.Errorf("timeline kinds: %v; want 1 activated, 50 attempts, 45 informed, 2 rejected", kinds)
	}

	// Restart on the same data dir.
	a.Close()
	b := mustRunApp(t, withPlaybooks(t, app.Config{DataDir: dataDir, SimulatorProfile: &profile}, playbooks))
	var again view
	if st := api(t, b, "GET", "/api/v1/activations/"+created.ID, nil, &again); st != http.StatusOK {
		t.Fatalf("after restart: status %d", st)
	}
	if again.Summary.Informed != 45 || again.Summary.Failed != 2 || len(again.Timeline) != len(v.Timeline) {
		t.Fatalf("after restart: summary %+v, %d events; want as before (%d events)", again.Summary, len(again.Timeline), len(v.Timeline))
	}
	for _, r := range again.Recipients {
		old := byID[r.Official.ID]
		if (old.InformedAt == nil) != (r.InformedAt == nil) || (old.InformedAt != nil && !old.InformedAt.Equal(*r.InformedAt)) {
			t.Errorf("%s: informed at %v before restart, %v after", r.Official.ID, old.InformedAt, r.InformedAt)
		}
	}
	// A late reply from a silent mayor reaches the restarted Tocsin.
	postSigned(t, b, "/twilio/sms/inbound", url.Values{"MessageSid": {"SMlate"}, "From": {fictionMobile(46)}, "To": {"+33639980000"}, "Body": {"ok bien reçu"}})
	late := waitFor(t, b, created.ID, 10*time.Second, "46 informed", func(v *view) bool { return v.Summary.Informed == 46 })
	// Nothing was sent again by the restarted leader: only the late
	// reply's confirmation.
	testingutil.ExpectSMS(t, b.Simulator(), fictionMobile(46), "Réception confirmée")
	time.Sleep(300 * time.Millisecond)
	if n := len(outbound(b.Simulator().Messages())); n != 1 {
		t.Errorf("after restart the leader sent %d SMS; want the confirmation only", n)
	}
	if st := api(t, b, "POST", "/api/v1/activations/"+created.ID+"/close", nil, &late); st != http.StatusOK || late.State != tocsin.Closed {
		t.Fatalf("close: status %d, state %s", st, late.State)
	}
	if late.Summary.WithinDeadline == nil || *late.Summary.WithinDeadline {
		t.Errorf("closed with 4 officials not informed: within deadline %v; want false", late.Summary.WithinDeadline)
	}
}

func withPlaybooks(t *testing.T, cfg app.Config, dir string) app.Config {
	t.Helper()
	cfg.PlaybooksDir = dir
	writeFile(t, dir+"/test.yaml", testPlaybook)
	return cfg
}

func outbound(ms []twiliosim.Message) []twiliosim.Message {
	var out []twiliosim.Message
	for _, m := range ms {
		if strings.HasPrefix(m.Direction, "outbound") {
			out = append(out, m)
		}
	}
	return out
}

// postSigned posts a webhook signed with the simulator's token, as Twilio
// would, and wants 200.
func postSigned(t *testing.T, a *app.App, path string, form url.Values) {
	t.Helper()
	postSignedBody(t, a, path, form)
}

// postSignedBody is postSigned returning the answer's body.
func postSignedBody(t *testing.T, a *app.App, path string, form url.Values) string {
	t.Helper()
	sig := twiliosim.Signature(a.Simulator().AuthToken(), a.URL()+path, form)
	req, _ := http.NewRequest("POST", a.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, resp.StatusCode, body)
	}
	return string(body)
}
