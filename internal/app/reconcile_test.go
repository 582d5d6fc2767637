package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Three mayors reply "OK" while no webhook reaches Tocsin (every replica
// unreachable, or the store down so that each one answered 503): Twilio
// holds the replies and the delivery statuses, and the leader brings them
// back, each mayor informed at the time Twilio received the reply, every
// SMS delivered, each step marked recovered in the timeline. The same
// reply arriving late by its webhook changes nothing.
func TestRepliesAndStatusesLostOnTheWayAreRecoveredFromTwilio(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(night)
	mayors := []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(1))), mayorOf("eu", mobile(fictionMobile(2))),
		mayorOf("fecamp", mobile(fictionMobile(3)))}
	reply := twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(30 * time.Second)}
	profile := twiliosim.Profile{Default: reply, Delivery: twiliosim.Fixed(2 * time.Second)}
	a := mustRunApp(t, app.Config{Clock: clock, SimulatorProfile: &profile, ReconcileInterval: 200 * time.Millisecond})
	if err := a.Store().ReplaceOfficials(t.Context(), mayors); err != nil {
		t.Fatal(err)
	}
	sim := a.Simulator()
	sim.LoseWebhooks(true)
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	testingutil.Eventually(t, 10*time.Second, "dispatch to load activation "+v.ID, func() bool { return a.Dispatcher().Loaded(v.ID) })
	e := &escalation{t: t, app: a, clock: clock, id: v.ID}
	e.until("three replies at Twilio", time.Minute, func() bool { return len(sim.Replies()) == 3 })
	lost := sim.Stats().CallbacksLost
	if lost < 6 { // three replies, three delivery statuses at least
		t.Fatalf("webhooks lost: %d, want at least 6", lost)
	}

	// Past the grace left to webhooks, the leader's next passes recover all.
	clock.Advance(20 * time.Second)
	waitFor(t, a, v.ID, 10*time.Second, "every mayor informed and every SMS delivered", func(v *view) bool {
		return v.Summary.Informed == 3 && v.Summary.Delivered == 3
	})
	var final view
	api(t, a, "GET", "/api/v1/activations/"+v.ID, nil, &final)
	replies := map[string]twiliosim.Message{}
	for _, m := range sim.Replies() {
		replies[m.From] = m
	}
	for _, r := range final.Recipients {
		m := replies[r.Official.Numbers[0].E164]
		if r.InformedAt == nil || !r.InformedAt.Equal(m.DateSent) {
			t.Errorf("%s informed at %v, want the time Twilio received the reply, %v", r.Official.ID, r.InformedAt, m.DateSent)
		}
		if r.InformedHow != "sms" || !slices.Contains(r.Replies, m.SID) {
			t.Errorf("%s: informed by %q, replies %v; want sms and %s recorded", r.Official.ID, r.InformedHow, r.Replies, m.SID)
		}
		if st := r.Attempts[0].Status; st != tocsin.AttemptDelivered {
			t.Errorf("%s: attempt %s, want delivered (recovered from Twilio)", r.Official.ID, st)
		}
	}
	recovered := map[string]int{}
	for _, ev := range final.Timeline {
		if ev.Recovered {
			recovered[ev.Kind]++
			if !strings.Contains(ev.Detail, "retrouvé") {
				t.Errorf("recovered event %q does not say it was recovered", ev.Detail)
			}
		}
	}
	if recovered[tocsin.EventInformed] != 3 || recovered[tocsin.EventStatus] < 3 {
		t.Errorf("recovered events %v, want 3 informed and at least 3 statuses", recovered)
	}
	scraped := scrape(t, a)
	if got := scraped.sum("tocsin_reconcile_recovered_total", "kind", "reply"); got != 3 {
		t.Errorf("/metrics: %v replies recovered, want 3", got)
	}
	if got := scraped.sum("tocsin_reconcile_informed_total"); got != 3 {
		t.Errorf("/metrics: %v officials informed by recovered replies, want 3", got)
	}
	if got := scraped.sum("tocsin_reconcile_recovered_total", "kind", "status"); got != float64(recovered[tocsin.EventStatus]) {
		t.Errorf("/metrics: %v statuses recovered, the timeline says %d", got, recovered[tocsin.EventStatus])
	}

	// The webhook of a reply already recovered comes at last: nothing changes.
	sim.LoseWebhooks(false)
	m := replies[fictionMobile(1)]
	body := postSignedBody(t, a, "/twilio/sms/inbound", url.Values{"MessageSid": {m.SID}, "From": {m.From}, "To": {m.To}, "Body": {m.Body}})
	if !strings.Contains(body, "<Response>") {
		t.Errorf("late webhook answered %q, want empty TwiML", body)
	}
	// The confirmations' own statuses may still come meanwhile: what must
	// not change is what the reply did (a reply, an informed official, a
	// confirmation recorded).
	var after view
	api(t, a, "GET", "/api/v1/activations/"+v.ID, nil, &after)
	if got, was := replyEffects(&after), replyEffects(&final); got != was {
		t.Errorf("late webhook of a recovered reply: %s, was %s; want no change", got, was)
	}
}

// replyEffects sums up what replies did to an activation: its events of
// replies and of officials informed, and the notices recorded.
func replyEffects(v *view) string {
	kinds := map[string]int{}
	for _, ev := range v.Timeline {
		if ev.Kind == tocsin.EventReply || ev.Kind == tocsin.EventInformed {
			kinds[ev.Kind]++
		}
	}
	notices := 0
	for _, r := range v.Recipients {
		notices += len(r.Notices)
	}
	return fmt.Sprintf("%v, %d notices", kinds, notices)
}
