package app_test

import (
	"context"
	"fmt"
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

// night is when the escalation scenarios start: 03:00 in Paris.
var night = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

// escalation is an app whose whole time — dispatch's timers, the timeline,
// the virtual officials — is a manual clock the test moves.
type escalation struct {
	t     *testing.T
	app   *app.App
	clock *twiliosim.ManualClock
	id    string
}

func fictionLandline(n int) string { return fmt.Sprintf("+3326191%04d", n) }

func mayorOf(id string, numbers ...tocsin.Number) tocsin.Official {
	return tocsin.Official{ID: id, Name: "Maire " + id, Role: "maire", Commune: "76217", CommuneName: "Dieppe",
		Arrondissement: "Dieppe", Numbers: numbers}
}

func mobile(n string) tocsin.Number { return tocsin.Number{E164: n, Kind: tocsin.Mobile} }

// mayorsWho returns n mayors, m01…, each with the i-th fiction mobile,
// and the simulator's persona p for each of their numbers.
func mayorsWho(n int, p twiliosim.Persona) ([]tocsin.Official, map[string]twiliosim.Persona) {
	officials := make([]tocsin.Official, n)
	numbers := make(map[string]twiliosim.Persona, n)
	for i := range n {
		officials[i] = mayorOf(fmt.Sprintf("m%02d", i+1), mobile(fictionMobile(i+1)))
		numbers[fictionMobile(i+1)] = p
	}
	return officials, numbers
}
func landline(n string) tocsin.Number { return tocsin.Number{E164: n, Kind: tocsin.Landline} }

// startEscalation runs the app on a manual clock with these officials and
// virtual officials, and activates the ladder playbook.
func startEscalation(t *testing.T, officials []tocsin.Official, numbers map[string]twiliosim.Persona, faults ...twiliosim.Fault) *escalation {
	t.Helper()
	clock := twiliosim.NewManualClock(night)
	profile := twiliosim.Profile{Numbers: numbers, Delivery: twiliosim.Fixed(2 * time.Second), Dial: twiliosim.Fixed(time.Second)}
	a := mustRunApp(t, app.Config{Clock: clock, SimulatorProfile: &profile, RetryBase: 50 * time.Millisecond,
		CallRate: 50, MaxCalls: 10})
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		if err := a.Simulator().InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-echelle", "exercise": true}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	// The clock moves only once dispatch has the activation: before, it
	// would look idle with the first SMS not sent yet.
	testingutil.Eventually(t, 10*time.Second, "dispatch to load activation "+v.ID, func() bool { return a.Dispatcher().Loaded(v.ID) })
	return &escalation{t: t, app: a, clock: clock, id: v.ID}
}

// recipient reads one recipient from the store.
func (e *escalation) recipient(official string) *tocsin.Recipient {
	r, err := e.app.Store().Recipient(context.Background(), e.id, official)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// until moves the clock two seconds at a time, giving the app and the
// simulator a moment of real time at each step, until cond holds; it fails
// past limit (from the activation).
func (e *escalation) until(what string, limit time.Duration, cond func() bool) time.Duration {
	e.t.Helper()
	for {
		if cond() {
			return e.clock.Now().Sub(night)
		}
		if e.clock.Now().Sub(night) > limit {
			e.t.Fatalf("%s: not by T+%s", what, limit)
		}
		e.clock.Advance(2 * time.Second)
		e.settle()
	}
}

// settle gives the app and the simulator real time to act on the clock's
// last step: until dispatch is idle (up to a second), then a moment more
// for webhooks under way to land.
func (e *escalation) settle() {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if e.app.Dispatcher().Idle() {
			break
		}
	}
	time.Sleep(3 * time.Millisecond)
}

// informed waits until official is informed and returns how.
func (e *escalation) informed(official string, limit time.Duration) *tocsin.Recipient {
	e.t.Helper()
	var r *tocsin.Recipient
	e.until(official+" informed", limit, func() bool {
		r = e.recipient(official)
		return r.InformedAt != nil
	})
	return r
}

// sms counts the alerts texted to number; notices counts the notices
// (the confirmation of an acknowledgement, how to confirm).
func (e *escalation) sms(number string) int {
	return len(testingutil.Alerts(e.app.Simulator(), number))
}

func (e *escalation) notices(number string) int {
	return len(testingutil.Notices(e.app.Simulator(), number))
}

// said is everything a call said, in order.
func said(c twiliosim.Call) string {
	var parts []string
	for _, s := range c.Said {
		parts = append(parts, s.Text)
	}
	return strings.Join(parts, " ")
}

func (e *escalation) calls(number string) []twiliosim.Call { return e.app.Simulator().CallsTo(number) }

func TestMayorIgnoresTheSMSAnswersTheCallAndPressesOne(t *testing.T) {
	t.Parallel()
	m := fictionMobile(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("dieppe", mobile(m))}, map[string]twiliosim.Persona{
		m: {Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(5 * time.Second)},
	})
	r := e.informed("dieppe", 15*time.Minute)
	if r.InformedHow != "voice" || r.InformedFrom != m {
		t.Fatalf("informed %s from %s; want by voice from %s", r.InformedHow, r.InformedFrom, m)
	}
	if d := r.InformedAt.Sub(night); d < 10*time.Minute || d > 12*time.Minute {
		t.Errorf("informed at T+%s; want just after the call at T+10", d)
	}
	e.until("T+40", 41*time.Minute, func() bool { return e.clock.Now().Sub(night) >= 40*time.Minute })
	if n := e.sms(m); n != 1 {
		t.Errorf("%s got %d SMS, want 1", m, n)
	}
	calls := e.calls(m)
	if len(calls) != 1 {
		t.Fatalf("%s got %d calls, want 1", m, len(calls))
	}
	if said := said(calls[0]); !strings.Contains(said, "Alerte de test pour Dieppe") || strings.Contains(said, "Répondez OK") {
		t.Errorf("the call said %q; want the message, without the SMS reply line", said)
	}
	// A late wrong key, once the official is informed, gets the goodbye,
	// not the alert again.
	var call tocsin.Attempt
	for _, at := range e.recipient("dieppe").Attempts {
		if at.Channel == tocsin.Voice {
			call = at
		}
	}
	path := "/twilio/voice/gather?" + url.Values{"a": {e.id}, "o": {"dieppe"}, "t": {call.ID}, "play": {"1"}}.Encode()
	doc := postSignedBody(t, e.app, path, url.Values{"CallSid": {call.SID}, "Digits": {"2"}})
	if !strings.Contains(doc, "déjà été confirmée") || strings.Contains(doc, "Alerte de test") {
		t.Errorf("wrong key after the acknowledgement: %s; want that the alert is already confirmed", doc)
	}
}

func TestMayorReachableOnlyOnALandlineIsCalledAtOnce(t *testing.T) {
	t.Parallel()
	l := fictionLandline(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("hameau", landline(l))}, map[string]twiliosim.Persona{
		l: {Behaviour: twiliosim.Landline, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(10 * time.Second)},
	})
	r := e.informed("hameau", 5*time.Minute)
	if r.InformedHow != "voice" || r.InformedAt.Sub(night) > 2*time.Minute {
		t.Fatalf("informed %s at T+%s; want by voice within two minutes", r.InformedHow, r.InformedAt.Sub(night))
	}
	if n := e.sms(l); n != 0 {
		t.Errorf("a landline got %d SMS", n)
	}
}

func TestUnreachableMayorWhoseDeputyAcknowledges(t *testing.T) {
	t.Parallel()
	m, d := fictionMobile(1), fictionMobile(2)
	mayor := mayorOf("bourg", mobile(m))
	mayor.Deputies = []string{"bourg-adjoint"}
	deputy := tocsin.Official{ID: "bourg-adjoint", Name: "Adjoint de Bourg", Role: "adjoint", Commune: "76217",
		CommuneName: "Dieppe", Arrondissement: "Dieppe", Numbers: []tocsin.Number{mobile(d)}}
	e := startEscalation(t, []tocsin.Official{mayor, deputy}, map[string]twiliosim.Persona{
		m: {Behaviour: twiliosim.Silent, Call: twiliosim.NoAnswer},
		d: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(30 * time.Second)},
	})
	// The deputy's reply to their own alert at T+30s does not count for the
	// mayor: only once the mayor's ladder reached the deputy — as soon as
	// the call and its retry went unanswered, before T+20.
	r := e.informed("bourg", 25*time.Minute)
	if at := r.InformedAt.Sub(night); r.InformedHow != "sms" || r.InformedFrom != d || at < 13*time.Minute || at > 20*time.Minute {
		t.Fatalf("informed %s from %s at T+%s; want by the deputy's SMS once both calls failed", r.InformedHow, r.InformedFrom, at)
	}
	if n := len(e.calls(m)); n != 2 {
		t.Errorf("the mayor got %d calls; want 2 (the call and its retry)", n)
	}
	// The deputy is an audience member too: their own reply informed them.
	if dr := e.recipient("bourg-adjoint"); dr.InformedAt == nil {
		t.Errorf("the deputy is not informed by their own reply")
	}
	// Their SMS on the mayor's behalf says so: whom they stand in for, and
	// that their answer counts for the commune.
	testingutil.ExpectSMS(t, e.app.Simulator(), d, "Faute d'avoir pu joindre Maire bourg, maire de Dieppe", "au nom de la commune")
}

func TestNobodyReachableGoesOnTheManualListThenIsConfirmedByHand(t *testing.T) {
	t.Parallel()
	m, l := fictionMobile(1), fictionLandline(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("isole", mobile(m), landline(l))}, map[string]twiliosim.Persona{
		m: {Behaviour: twiliosim.Invalid},
		l: {Behaviour: twiliosim.Invalid},
	})
	var act *tocsin.Activation
	e.until("on the manual list", 5*time.Minute, func() bool {
		var err error
		act, err = e.app.Store().Activation(context.Background(), e.id)
		if err != nil {
			t.Fatal(err)
		}
		return act.OnManualList(e.recipient("isole"), e.clock.Now())
	})
	r := e.recipient("isole")
	if r.Status != tocsin.StatusFailed || r.InformedAt != nil {
		t.Fatalf("status %s; want failed, not informed", r.Status)
	}
	var got tocsin.Recipient
	st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/recipients/isole/confirm",
		map[string]string{"reached": "la secrétaire de mairie", "how": "patrouille de gendarmerie", "note": "message transmis"}, &got)
	if st != http.StatusOK || got.InformedHow != "manual" || got.Confirmation == nil || got.Confirmation.How != "patrouille de gendarmerie" {
		t.Fatalf("confirm: status %d, %+v", st, got)
	}
	if !got.InformedAt.Equal(e.clock.Now()) {
		t.Errorf("confirmed at %s; want the clock's %s", got.InformedAt, e.clock.Now())
	}
	if act.OnManualList(&got, e.clock.Now()) {
		t.Errorf("still on the manual list once confirmed")
	}
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/recipients/isole/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusConflict {
		t.Errorf("second confirmation: status %d, want 409", st)
	}
}

func TestStormOf429sEveryoneInformedNobodyTextedTwice(t *testing.T) {
	t.Parallel()
	officials, numbers := mayorsWho(20, twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(20 * time.Second)})
	e := startEscalation(t, officials, numbers, twiliosim.Fault{Status: http.StatusTooManyRequests, Count: 40, Resource: twiliosim.ResourceMessages})
	e.until("all informed", 9*time.Minute, func() bool {
		for _, o := range officials {
			if e.recipient(o.ID).InformedAt == nil {
				return false
			}
		}
		return true
	})
	for i := 1; i <= 20; i++ {
		if n := e.sms(fictionMobile(i)); n != 1 {
			t.Errorf("%s got %d SMS, want exactly 1", fictionMobile(i), n)
		}
		if n := e.notices(fictionMobile(i)); n > 1 {
			t.Errorf("%s got %d confirmations, want at most 1 (it may still be on its way)", fictionMobile(i), n)
		}
		if n := len(e.calls(fictionMobile(i))); n != 0 {
			t.Errorf("%s got %d calls before T+10, want none", fictionMobile(i), n)
		}
	}
	if served := e.app.Simulator().Stats().Faults["429"]; served != 40 {
		t.Errorf("the simulator served %d 429s, want the 40 of the storm", served)
	}
}

// The confirmations of acknowledgements meet Twilio's faults: 429s, then
// 503s answered after the message was created (it goes, the answer is
// lost, and only Twilio's records can tell). From the simulator's record:
// every official who replied gets exactly one confirmation.
func TestConfirmationsThroughTwilio429sAndLostAnswersEachSentOnce(t *testing.T) {
	t.Parallel()
	officials, numbers := mayorsWho(12, twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(20 * time.Second)})
	e := startEscalation(t, officials, numbers)
	e.until("every alert handed over", 2*time.Minute, func() bool {
		for i := 1; i <= 12; i++ {
			if e.sms(fictionMobile(i)) != 1 {
				return false
			}
		}
		return true
	})
	// The replies come 20 s after delivery: every request on messages
	// from now on is a confirmation's.
	for _, f := range []twiliosim.Fault{
		{Status: http.StatusTooManyRequests, Count: 10, Resource: twiliosim.ResourceMessages},
		{Status: http.StatusServiceUnavailable, Count: 4, Resource: twiliosim.ResourceMessages, AfterCreate: true},
	} {
		if err := e.app.Simulator().InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	e.until("a confirmation to each", 10*time.Minute, func() bool {
		for i := 1; i <= 12; i++ {
			if e.notices(fictionMobile(i)) == 0 {
				return false
			}
		}
		return true
	})
	// Whatever was left unknown is settled from Twilio's records, never
	// sent again: let the reconciliation and the retries run their course.
	e.until("a few minutes more", 15*time.Minute, func() bool { return e.clock.Now().Sub(night) >= 15*time.Minute })
	for i := 1; i <= 12; i++ {
		n := fictionMobile(i)
		if e.sms(n) != 1 || e.notices(n) != 1 {
			t.Errorf("%s got %d alerts and %d confirmations, want one of each", n, e.sms(n), e.notices(n))
		}
		if r := e.recipient(fmt.Sprintf("m%02d", i)); r.InformedHow != "sms" {
			t.Errorf("m%02d informed by %q, want by its SMS reply", i, r.InformedHow)
		}
	}
	// The 429s went to the confirmations' sends and to the reads of
	// Twilio's records; the 503s to sends only.
	faults := e.app.Simulator().Stats().Faults
	if faults["429"] != 10 || faults["503-after-create"] != 4 {
		t.Errorf("the simulator served %v, want the 10 429s and the 4 503s after create", faults)
	}
}

func TestAcknowledgementDuringTheCallStopsEverything(t *testing.T) {
	t.Parallel()
	m := fictionMobile(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("tardif", mobile(m))}, map[string]twiliosim.Persona{
		// The reply to the SMS comes while the T+10 call rings.
		m: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(10*time.Minute + 2*time.Second),
			Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(20 * time.Second)},
	})
	r := e.informed("tardif", 12*time.Minute)
	if r.InformedHow != "sms" {
		t.Fatalf("informed by %s; want by the SMS reply", r.InformedHow)
	}
	e.until("T+40", 41*time.Minute, func() bool { return e.clock.Now().Sub(night) >= 40*time.Minute })
	calls := e.calls(m)
	if len(calls) != 1 {
		t.Fatalf("%d calls; want the one already placed, and no other", len(calls))
	}
	if said := said(calls[0]); strings.Contains(said, "Alerte de test") || !strings.Contains(said, "déjà été confirmée") {
		t.Errorf("the call said %q; want only that the alert was already confirmed", said)
	}
	if n := e.sms(m); n != 1 {
		t.Errorf("%d SMS; want 1", n)
	}
	if n := e.notices(m); n != 1 {
		t.Errorf("%d confirmations of the reply; want 1", n)
	}
}

func TestCIPActivatedWithinAndPastItsAnnouncedDelay(t *testing.T) {
	t.Parallel()
	m := fictionMobile(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("dieppe", mobile(m))}, map[string]twiliosim.Persona{m: {Behaviour: twiliosim.Silent}})
	e.until("T+50m", 51*time.Minute, func() bool { return e.clock.Now().Sub(night) >= 50*time.Minute })
	var v view
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/cip", nil, &v); st != http.StatusOK {
		t.Fatalf("cip: status %d", st)
	}
	cip := v.CIP
	if cip == nil || cip.DelaySeconds != 50*60 || cip.AnnouncedSeconds != 3600 || !cip.WithinDelay || cip.By != "admin" {
		t.Fatalf("cip %+v; want activated 50 min after, within the hour", cip)
	}
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/cip", map[string]string{"note": "again"}, nil); st != http.StatusConflict {
		t.Errorf("second CIP activation: status %d, want 409", st)
	}
	// Another activation whose CIP comes after 61 minutes misses the delay.
	var late view
	api(t, e.app, "POST", "/api/v1/activations", map[string]any{"playbook": "test-echelle", "exercise": true}, &late)
	e.clock.Advance(61 * time.Minute)
	if st := api(t, e.app, "POST", "/api/v1/activations/"+late.ID+"/cip", map[string]string{"note": "standard saturé"}, &late); st != http.StatusOK {
		t.Fatalf("late cip: status %d", st)
	}
	if late.CIP.WithinDelay || late.CIP.DelaySeconds != 61*60 || late.CIP.Note != "standard saturé" {
		t.Errorf("late cip %+v; want 61 min, past the announced delay", late.CIP)
	}
}

// The mayor of Dieppe has the SMS and does not answer. At T+2 min the
// duty officer presses « Relancer maintenant »: the call comes at once,
// not at T+10. Pressed again for everyone, the deputies' rung comes; once
// every automatic rung has started, there is nothing left to rush.
func TestDutyOfficerRushesTheNextRung(t *testing.T) {
	t.Parallel()
	m := fictionMobile(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("dieppe", mobile(m))},
		map[string]twiliosim.Persona{m: {Behaviour: twiliosim.Silent, Call: twiliosim.NoAnswer}})
	e.until("the SMS delivered", time.Minute, func() bool { return e.recipient("dieppe").Status == tocsin.StatusDelivered })
	e.clock.Advance(2 * time.Minute)
	base := "/api/v1/activations/" + e.id
	if st := api(t, e.app, "POST", base+"/recipients/dieppe/rush", nil, nil); st != http.StatusOK {
		t.Fatalf("rush: status %d", st)
	}
	at := e.until("the call placed", 8*time.Minute, func() bool { return len(e.calls(m)) > 0 })
	t.Logf("rushed at T+2 min, call placed at T+%s", at)
	if at >= 10*time.Minute {
		t.Errorf("call placed at T+%s; want it at once after the rush at T+2", at)
	}
	var v view
	api(t, e.app, "GET", base, nil, &v)
	rushed := 0
	for _, ev := range v.Timeline {
		if ev.Kind == tocsin.EventRushed && strings.Contains(ev.Detail, "appel vocal maintenant") {
			rushed++
		}
	}
	if rushed != 1 {
		t.Errorf("%d rush events naming the call in the timeline; want 1", rushed)
	}
	var all struct {
		Rushed int `json:"rushed"`
	}
	if st := api(t, e.app, "POST", base+"/rush", nil, &all); st != http.StatusOK || all.Rushed != 0 {
		// The mayor has no deputy: the rung after the call reaches nobody,
		// and nothing automatic is left.
		t.Errorf("rush all: status %d, %d rushed; want 200 with none left to rush", st, all.Rushed)
	}
	var refused struct {
		Error struct{ Message string } `json:"error"`
	}
	if st := api(t, e.app, "POST", base+"/recipients/dieppe/rush", nil, &refused); st != http.StatusConflict || !strings.Contains(refused.Error.Message, "appelez-le·la à la main") {
		t.Errorf("rush with nothing left: status %d %q; want 409 telling to call by hand", st, refused.Error.Message)
	}
}
