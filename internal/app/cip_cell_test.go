package app_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// cipPlaybook asks for two operators in position within 45 minutes.
const cipPlaybook = `id: test-cip
title: Crue avec CIP
audience: {everyone: true}
message: "Alerte de test pour {{.Commune}}."
cip: {min_operators: 2, announced_delay: 45m}
`

// cipRosterCSV has three available operators and one on leave.
const cipRosterCSV = "id;nom;mobile;disponible\n" +
	"cip-01;Anne Lecourt;06 39 98 10 01;oui\n" +
	"cip-02;Paul Vasseur;06 39 98 10 02;oui\n" +
	"cip-03;Lise Morin;06 39 98 10 03;oui\n" +
	"cip-04;Marc Hébert;06 39 98 10 04;non\n"

type cipPanelView struct {
	Open       bool               `json:"open"`
	Cell       *tocsin.CIPCell    `json:"cell"`
	Counts     map[string]int     `json:"counts"`
	InPosition int                `json:"in_position"`
	Min        int                `json:"min_operators"`
	Activated  *tocsin.CIP        `json:"activated"`
	Outside    string             `json:"outside"`
	Calls      tocsin.PublicCalls `json:"calls"`
}

// startCIP runs the app on a manual clock with the CIP playbook, one
// silent mayor and the roster, and activates the playbook. Operators are
// silent unless personas says otherwise.
func startCIP(t *testing.T, personas map[string]twiliosim.Persona) (*app.App, *twiliosim.ManualClock, string) {
	t.Helper()
	return startCIPWith(t, twiliosim.Profile{Numbers: personas})
}

// startCIPWith is startCIP with a simulator's profile, its delivery and
// dial delays set.
func startCIPWith(t testing.TB, profile twiliosim.Profile) (*app.App, *twiliosim.ManualClock, string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cip.yaml"), cipPlaybook)
	clock := twiliosim.NewManualClock(night)
	m := fictionMobile(1)
	profile.Delivery, profile.Dial = twiliosim.Fixed(2*time.Second), twiliosim.Fixed(time.Second)
	a := mustRunApp(t, app.Config{Clock: clock, PlaybooksDir: dir, SimulatorProfile: &profile, RetryBase: 50 * time.Millisecond,
		CallRate: 50, MaxCalls: 10})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(m))}); err != nil {
		t.Fatal(err)
	}
	if st, body := rawRequest(t, a, "PUT", "/api/v1/cip/operators", adminToken, "text/csv", cipRosterCSV); st != http.StatusOK {
		t.Fatalf("roster import: %d %s", st, body)
	}
	return a, clock, activateCIPPlaybook(t, a)
}

func activateCIPPlaybook(t testing.TB, a *app.App) string {
	t.Helper()
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-cip", "exercise": true}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	return v.ID
}

// mark records an operator's state and returns the CIP panel.
func mark(t testing.TB, a *app.App, id, operator string, state tocsin.OperatorState) cipPanelView {
	t.Helper()
	var p cipPanelView
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/operators/"+operator, map[string]any{"state": state}, &p); st != http.StatusOK {
		t.Fatalf("mark %s %s: status %d", operator, state, st)
	}
	return p
}

// The duty officer opens the CIP of a flood at T+5: the three available
// operators are called, not the one on leave. Anne comes, Lise is
// unavailable; at T+30 Anne is in position, which is not enough; at T+40
// Paul is too: Tocsin stamps the CIP 40 minutes after the activation,
// within its announced 45 minutes, and the indicator counts it. Every
// step is in the timeline and the audit trail.
func TestCIPOpensCallsOperatorsAndIsActivatedWhenStaffed(t *testing.T) {
	t.Parallel()
	a, clock, id := startCIP(t, nil)
	clock.Advance(5 * time.Minute)
	var p cipPanelView
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, &p); st != http.StatusOK {
		t.Fatalf("open: status %d", st)
	}
	if !p.Open || p.Min != 2 || p.Cell == nil || len(p.Cell.Operators) != 3 || p.Cell.Operator("cip-04") != nil || p.Counts["called"] != 3 {
		t.Fatalf("opened CIP %+v; want the 3 available operators called, 2 required", p)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil); st != http.StatusConflict {
		t.Errorf("opening twice: status %d, want 409", st)
	}
	// Steps a minute apart: events of one instant have no set order.
	clock.Advance(time.Minute)
	mark(t, a, id, "cip-01", tocsin.OperatorComing)
	clock.Advance(time.Minute)
	mark(t, a, id, "cip-03", tocsin.OperatorUnavailable)
	clock.Advance(23 * time.Minute)
	if p = mark(t, a, id, "cip-01", tocsin.OperatorInPosition); p.Activated != nil || p.InPosition != 1 {
		t.Fatalf("one operator in position: %+v; want the CIP not activated yet", p)
	}
	clock.Advance(10 * time.Minute)
	p = mark(t, a, id, "cip-02", tocsin.OperatorInPosition)
	c := p.Activated
	if c == nil || c.DelaySeconds != 40*60 || c.AnnouncedSeconds != 45*60 || !c.WithinDelay || c.Staffed != 2 || p.Outside != "" {
		t.Fatalf("CIP after two in position: %+v; want activated by Tocsin 40 min after, within 45 min, 2 in position", c)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip", nil, nil); st != http.StatusConflict {
		t.Errorf("declaring the activated CIP by hand: status %d, want 409", st)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/operators/cip-09", map[string]any{"state": "coming"}, nil); st != http.StatusNotFound {
		t.Errorf("an operator not called: status %d, want 404", st)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/operators/cip-02", map[string]any{"state": "parti"}, nil); st != http.StatusBadRequest {
		t.Errorf("an unknown state: status %d, want 400", st)
	}
	// A third in position later changes nothing of the stamp.
	clock.Advance(time.Minute)
	mark(t, a, id, "cip-03", tocsin.OperatorInPosition)
	clock.Advance(time.Minute)
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/close", nil, &p); st != http.StatusOK || p.Open || p.Activated.DelaySeconds != 40*60 {
		t.Errorf("close: status %d, panel %+v; want closed, the stamp of T+40 kept", st, p)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/operators/cip-01", map[string]any{"state": "coming"}, nil); st != http.StatusConflict {
		t.Errorf("marking after the close: status %d, want 409", st)
	}

	var v view
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &v)
	var timeline []string
	for _, e := range v.Timeline {
		if strings.HasPrefix(e.Kind, "cip") {
			timeline = append(timeline, e.Detail)
		}
	}
	// Paul's mark and the activation it makes share their instant: their
	// order is not asserted.
	if len(timeline) != 8 || !strings.Contains(timeline[0], "3 opérateurs appelés, 2 en poste requis") ||
		!strings.Contains(timeline[2], "Lise Morin (cip-03) « indisponible »") || !strings.Contains(timeline[3], "1 en poste sur 2 requis") ||
		!slices.ContainsFunc(timeline[4:6], func(d string) bool {
			return strings.Contains(d, "CIP activée : ligne ouverte et 2 opérateurs en poste, 40 min")
		}) ||
		!strings.Contains(timeline[7], "CIP fermée") {
		t.Errorf("CIP timeline:\n%s\nwant opened, 4 marks, activated, 1 mark, closed", strings.Join(timeline, "\n"))
	}
	var rep struct {
		Months []struct {
			Exercise struct {
				CIPActivations int `json:"cip_activations"`
				CIPWithin      int `json:"cip_within"`
			} `json:"exercise"`
		} `json:"months"`
	}
	if st := api(t, a, "GET", "/api/v1/indicators?from=2026-11", nil, &rep); st != http.StatusOK || rep.Months[0].Exercise.CIPActivations != 1 || rep.Months[0].Exercise.CIPWithin != 1 {
		t.Errorf("indicators: status %d, %+v; want one CIP, within its delay", st, rep.Months)
	}
	want := []string{tocsin.AuditCIPOpened, tocsin.AuditCIPOperator, tocsin.AuditCIPOperator, tocsin.AuditCIPOperator,
		tocsin.AuditCIPOperator, tocsin.AuditCIP, tocsin.AuditCIPOperator, tocsin.AuditCIPClosed}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) < len(want) && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var all auditEntries
		api(t, a, "GET", "/api/v1/audit?activation="+id, nil, &all)
		got = got[:0]
		for _, e := range all.Entries {
			if strings.HasPrefix(e.Action, "cip.") || e.Action == tocsin.AuditCIP {
				got = append(got, e.Action)
			}
		}
	}
	// The entries of one write share their instant: the order of Paul's
	// mark and of the activation is not asserted.
	if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] ||
		!slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("audit of the CIP: %v, want %v", got, want)
	}
}

// A CIP staffed 50 minutes after the activation misses its announced 45;
// one declared by hand is marked as opened outside Tocsin.
func TestCIPStaffedLateAndCIPDeclaredByHand(t *testing.T) {
	t.Parallel()
	a, clock, id := startCIP(t, nil)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	clock.Advance(50 * time.Minute)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	p := mark(t, a, id, "cip-03", tocsin.OperatorInPosition)
	if p.Activated == nil || p.Activated.WithinDelay || p.Activated.DelaySeconds != 50*60 {
		t.Errorf("CIP staffed at T+50: %+v; want activated past its 45 min", p.Activated)
	}

	other := activateCIPPlaybook(t, a)
	clock.Advance(10 * time.Minute)
	if st := api(t, a, "POST", "/api/v1/activations/"+other+"/cip", map[string]string{"note": "standard de la préfecture"}, nil); st != http.StatusOK {
		t.Fatalf("declare by hand: status %d", st)
	}
	p = cipPanelView{}
	if st := api(t, a, "GET", "/api/v1/activations/"+other+"/cip", nil, &p); st != http.StatusOK || p.Cell != nil || p.Activated == nil ||
		p.Activated.Staffed != 0 || p.Activated.AnnouncedSeconds != 45*60 || !p.Activated.WithinDelay || !strings.Contains(p.Outside, "hors de Tocsin") {
		t.Errorf("CIP declared by hand: status %d, %+v; want it marked as opened outside Tocsin, against the playbook's 45 min", st, p)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+other+"/cip/open", nil, nil); st != http.StatusConflict {
		t.Errorf("opening a CIP declared by hand: status %d, want 409", st)
	}
}

// From the console, the duty officer opens the CIP and marks its operators
// in position; the page shows where each one stands.
func TestConsoleCIPPanel(t *testing.T) {
	t.Parallel()
	a, _, id := startCIP(t, nil)
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if st, html := b.get("/activations/" + id); st != http.StatusOK || !strings.Contains(html, `href="/activations/`+id+`/cip"`) {
		t.Errorf("activation page (%d) has no link to its CIP", st)
	}
	if st, _, loc := b.postCSRF("/activations/"+id+"/cip/ouvrir", nil); st != http.StatusSeeOther || loc != "/activations/"+id+"/cip" {
		t.Fatalf("open: status %d to %q", st, loc)
	}
	for _, op := range []string{"cip-01", "cip-02"} {
		if st, _, _ := b.postCSRF("/activations/"+id+"/cip/operateurs/"+op, url.Values{"etat": {"in_position"}}); st != http.StatusSeeOther {
			t.Fatalf("mark %s: status %d", op, st)
		}
	}
	st, html := b.get("/activations/" + id + "/cip")
	for _, s := range []string{"CIP activée le", "dans le délai annoncé", "2 opérateurs en poste", "en poste : 2", "appelés : 1", "Lise Morin", "Fermer la CIP", "<dt>Appels</dt><dd>0</dd>"} {
		if !strings.Contains(html, s) {
			t.Errorf("CIP page (%d) lacks %q", st, s)
		}
	}
	if st, _, loc := b.postCSRF("/cip/message", url.Values{"message": {"Restez chez vous."}}); st != http.StatusSeeOther || loc != "/cip?message=1" {
		t.Fatalf("public message: status %d to %q", st, loc)
	}
	st, html = b.get("/cip?message=1")
	for _, s := range []string{"Message public enregistré (version 1)", "« Restez chez vous. »", "2 opérateur(s) en poste les prennent"} {
		if !strings.Contains(html, s) {
			t.Errorf("CIP page (%d) lacks %q", st, s)
		}
	}
	if st, html, _ := b.postCSRF("/activations/"+id+"/cip/operateurs/cip-01", url.Values{"etat": {"en-vacances"}}); st != http.StatusBadRequest || !strings.Contains(html, "inconnu") {
		t.Errorf("unknown state: status %d, want 400 saying so", st)
	}
}

// The CIP's operators are called out like officials: Anne replies « 1 »
// to the SMS, Lise « 2 »; Paul ignores the SMS, answers the call five
// minutes later and presses 1. The supervisor marks Anne in position;
// Paul texts « EN POSTE » on arrival: with two in position the CIP is
// activated, stamped by Tocsin. The operator on leave is sent nothing, and
// the call-out is no activation of its own in the list or the indicators.
func TestCIPCallOutThroughTheSimulator(t *testing.T) {
	t.Parallel()
	anne, paul, lise, marc := "+33639981001", "+33639981002", "+33639981003", "+33639981004"
	a, clock, id := startCIP(t, map[string]twiliosim.Persona{
		anne: {Behaviour: twiliosim.Reply, Reply: "1", Delay: twiliosim.Fixed(time.Minute)},
		lise: {Behaviour: twiliosim.Reply, Reply: "2", Delay: twiliosim.Fixed(30 * time.Second)},
		paul: {Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(5 * time.Second)},
	})
	var p cipPanelView
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, &p); st != http.StatusOK || p.Cell.CallOut == "" {
		t.Fatalf("open: status %d, %+v", st, p.Cell)
	}
	co := p.Cell.CallOut
	for deadline := time.Now().Add(10 * time.Second); !a.Dispatcher().Loaded(co); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dispatch did not load the call-out %s", co)
		}
	}
	e := &escalation{t: t, app: a, clock: clock, id: co}
	state := func(op string) tocsin.OperatorState {
		var p cipPanelView
		api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
		return p.Cell.Operator(op).State
	}
	e.until("Anne coming, Lise unavailable", 3*time.Minute, func() bool {
		return state("cip-01") == tocsin.OperatorComing && state("cip-03") == tocsin.OperatorUnavailable
	})
	e.until("Paul coming by key", 8*time.Minute, func() bool { return state("cip-02") == tocsin.OperatorComing })
	if r := e.recipient("cip-02"); r.InformedHow != "voice" {
		t.Errorf("Paul answered by %q; want the key pressed during the call", r.InformedHow)
	}
	if n := len(e.calls(anne)) + len(e.calls(lise)); n != 0 {
		t.Errorf("%d calls to operators who answered the SMS; want none", n)
	}
	if n := e.sms(marc); n != 0 {
		t.Errorf("the operator on leave got %d SMS; want none", n)
	}
	if msgs := testingutil.Outbound(a.Simulator(), anne); len(msgs) != 1 || !strings.Contains(msgs[0].Body, "EXERCICE") || !strings.Contains(msgs[0].Body, "Répondez 1 si vous arrivez, 2 si vous êtes indisponible") {
		t.Errorf("Anne's call-out: %+v; want one SMS saying how to answer", msgs)
	}

	clock.Advance(10 * time.Minute)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	clock.Advance(5 * time.Minute)
	postSigned(t, a, "/twilio/sms/inbound", url.Values{"MessageSid": {"SMenposte"}, "From": {paul}, "To": {"+33639980000"}, "Body": {"En poste"}})
	api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
	if p.Activated == nil || p.Activated.Staffed != 2 || !p.Activated.WithinDelay || p.Cell.Operator("cip-02").State != tocsin.OperatorInPosition {
		t.Fatalf("after Paul's « En poste »: %+v; want the CIP activated with two in position", p)
	}
	for _, path := range []string{"/cip", "/cip/open"} {
		if st := api(t, a, "POST", "/api/v1/activations/"+co+path, nil, nil); st != http.StatusConflict {
			t.Errorf("a CIP for the call-out itself (%s): status %d, want 409", path, st)
		}
	}
	// The same reply brought again (reconciliation) changes nothing.
	postSigned(t, a, "/twilio/sms/inbound", url.Values{"MessageSid": {"SMenposte"}, "From": {paul}, "To": {"+33639980000"}, "Body": {"En poste"}})
	var parent view
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &parent)
	var marks []string
	for _, e := range parent.Timeline {
		if strings.Contains(e.Detail, "Paul Vasseur (cip-02) « en poste »") {
			marks = append(marks, e.Detail)
		}
	}
	if len(marks) != 1 || !strings.Contains(marks[0], "répondu par SMS") {
		t.Errorf("Paul's « En poste » in the timeline: %q; want it once, said by SMS", marks)
	}

	if m := scrape(t, a); m.has("tocsin_activation_targeted", "activation", co) || m.sum("tocsin_activations_open") != 1 {
		t.Errorf("metrics show the call-out %s as an open activation:\n%s", co, m.raw)
	}
	var list struct {
		Activations []view `json:"activations"`
	}
	api(t, a, "GET", "/api/v1/activations", nil, &list)
	if len(list.Activations) != 1 || list.Activations[0].ID != id {
		t.Errorf("activations listed: %d; want the flood alone, not its call-out", len(list.Activations))
	}
	api(t, a, "POST", "/api/v1/activations/"+id+"/close", nil, nil)
	var callOut view
	api(t, a, "GET", "/api/v1/activations/"+co, nil, &callOut)
	api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
	if callOut.State != tocsin.Closed || p.Open {
		t.Errorf("after the activation closed: call-out %s, CIP open %t; want both closed", callOut.State, p.Open)
	}
	var res struct {
		OK           bool `json:"ok"`
		MissingCount int  `json:"missing_count"`
		Missing      any  `json:"missing"`
		Break        any  `json:"break"`
	}
	for deadline := time.Now().Add(10 * time.Second); !res.OK && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		api(t, a, "GET", "/api/v1/audit/verify", nil, &res)
	}
	if !res.OK || res.MissingCount != 0 {
		t.Errorf("audit verify after the CIP: %+v; want the trail whole, every change accounted for", res)
	}
}

// The call-out of a CIP's operators shows on its own page, not among the
// activations of the dashboard's live feed.
func TestCIPCallOutStaysOffTheLiveDashboard(t *testing.T) {
	t.Parallel()
	a, _, id := startCIP(t, nil)
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	conn, _, err := dialLive(t, b, "tableau", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var p cipPanelView
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, &p); st != http.StatusOK {
		t.Fatalf("open: status %d", st)
	}
	next := activateCIPPlaybook(t, a)
	seen := readUntil(t, conn, 5*time.Second, "the next activation on the dashboard", func(m liveMsg) bool { return m.Activation == next })
	for _, m := range seen {
		if m.Activation == p.Cell.CallOut {
			t.Errorf("the dashboard got %s of the call-out %s", m.Type, m.Activation)
		}
	}
}
