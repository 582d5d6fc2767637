package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// The line's number, as the callers dial it.
const publicNumber = "+33261910000"

// Anne alone is in position, and picks up 5 s after her phone rings;
// a conversation lasts a minute. Three callers ring at once: the first
// hears she is « la 1re personne en attente » and is taken by Anne, the
// second (« 2e ») waits until Anne is free again, the third (« 3e »)
// loses patience after 30 s and hangs up. The CIP's panel, the API and
// the metrics count 3 queued, 2 answered, 1 abandoned and the longest
// wait, as the simulator recorded them; the third caller's call and
// hang-up told again change nothing.
func TestPublicQueueCallersWaitTheirTurn(t *testing.T) {
	t.Parallel()
	anne := "+33639981001"
	a, clock, id := startCIPWith(t, twiliosim.Profile{
		Numbers: map[string]twiliosim.Persona{anne: {Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(5 * time.Second)}},
		Talk:    twiliosim.Fixed(time.Minute),
	})
	api(t, a, "PUT", "/api/v1/cip/message", map[string]string{"text": "Crue de la Béthune : évitez les berges."}, nil)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	sim := a.Simulator()
	line := a.URL() + "/twilio/voice/public"
	var callers []string
	for i, patience := range []time.Duration{0, 0, 30 * time.Second} {
		sid, err := sim.Arrive(twiliosim.Caller{URL: line, From: fictionMobile(500 + i), To: publicNumber, Patience: patience})
		if err != nil {
			t.Fatal(err)
		}
		callers = append(callers, sid)
	}
	// Long enough for both conversations and every wait.
	for range 30 {
		clock.Advance(10 * time.Second)
	}

	queue := activation.QueueName(id)
	rec, ok := sim.Queue(queue)
	if !ok {
		t.Fatalf("the simulator saw no queue %q", queue)
	}
	if rec.Enqueued != 3 || rec.Bridged != 2 || rec.Abandoned != 1 || rec.Waiting != 0 {
		t.Fatalf("simulator's record of the queue: %+v; want 3 queued, 2 bridged, 1 abandoned", rec)
	}
	heard := func(sid string) string {
		c, _ := sim.Call(sid)
		return c.Transcript()
	}
	for i, want := range []string{"Vous êtes la 1re personne en attente.", "Vous êtes la 2e personne en attente.", "Vous êtes la 3e personne en attente."} {
		if !strings.Contains(heard(callers[i]), want) {
			t.Errorf("caller %d did not hear %q:\n%s", i+1, want, heard(callers[i]))
		}
	}
	if !strings.Contains(heard(callers[1]), "Vous êtes la 1re personne en attente.") {
		t.Errorf("the second caller was never told they were next:\n%s", heard(callers[1]))
	}
	for i, want := range []string{twiliosim.QueueBridged, twiliosim.QueueBridged, twiliosim.QueueHangup} {
		if c, _ := sim.Call(callers[i]); c.QueueResult != want || !c.Ended() {
			t.Errorf("caller %d: %s, %s; want %s and the call over", i+1, c.QueueResult, c.Status, want)
		}
	}
	if got := len(sim.CallsTo(anne)); got < 2 {
		t.Errorf("Anne was called %d times for the queue; want one per caller she took", got)
	}

	want := tocsin.PublicCalls{Total: 3, PutThrough: 3, Queued: 3, Answered: 2, Abandoned: 1, LongestWaitSeconds: rec.LongestWait}
	panel := testingutil.Await(t, 5*time.Second, "the CIP's figures", func() (cipPanelView, bool) {
		var p cipPanelView
		api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
		return p, p.Calls == want
	})
	if panel.Calls.LongestWaitSeconds < 60 {
		t.Errorf("longest wait %d s; the second caller waited over a conversation", panel.Calls.LongestWaitSeconds)
	}

	// Twilio tells the third caller's hang-up, and their call, again:
	// counted once.
	c3, _ := sim.Call(callers[2])
	again := url.Values{"CallSid": {c3.SID}, "AccountSid": {c3.AccountSID}, "QueueResult": {"hangup"}, "QueueTime": {"30"}, "QueueSid": {rec.SID}}
	postSignedBody(t, a, "/twilio/voice/public/left?a="+id, again)
	postSignedBody(t, a, "/twilio/voice/public", url.Values{"CallSid": {c3.SID}, "AccountSid": {c3.AccountSID}, "From": {c3.From}, "To": {c3.To}})
	var p cipPanelView
	api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
	if p.Calls != want {
		t.Errorf("after the hang-up told twice: %+v, want %+v", p.Calls, want)
	}
	m := scrape(t, a)
	for outcome, n := range map[string]float64{"queued": 3, "answered": 2, "abandoned": 1} {
		if got := m.sum("tocsin_cip_public_calls_total", "outcome", outcome); got != n {
			t.Errorf("tocsin_cip_public_calls_total{outcome=%q} = %v, want %v", outcome, got, n)
		}
	}
	if got := m.samples("tocsin_cip_public_calls_waiting", "activation", id); len(got) != 1 || m.sum("tocsin_cip_public_calls_waiting") != 0 {
		t.Errorf("calls waiting: %v, want the CIP's gauge at 0", got)
	}
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if st, page := b.get("/activations/" + id + "/cip"); st != http.StatusOK || !strings.Contains(page, "Abandonnés") {
		t.Errorf("the CIP page (%d) does not show the abandoned calls", st)
	}
}

// A caller hangs up while waiting, and Twilio's word of it is lost (the
// Enqueue's action never arrives). Tocsin stops counting them as waiting
// once the queue's wait URL has not heard of them for a few minutes: the
// panel says they went unanswered, and no operator is called for them.
func TestPublicQueueCallerLostFromSightStopsWaiting(t *testing.T) {
	t.Parallel()
	paul := "+33639981002"
	a, clock, id := startCIPWith(t, twiliosim.Profile{Numbers: map[string]twiliosim.Persona{paul: {Behaviour: twiliosim.Silent, Call: twiliosim.NoAnswer}}})
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(t, a, id, "cip-02", tocsin.OperatorInPosition)
	sim := a.Simulator()
	if _, err := sim.Arrive(twiliosim.Caller{URL: a.URL() + "/twilio/voice/public", From: fictionMobile(800), To: publicNumber, Patience: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(35 * time.Second)
	panel := func() tocsin.PublicCalls {
		var p cipPanelView
		api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
		return p.Calls
	}
	if c := panel(); c.Waiting != 1 {
		t.Fatalf("before the hang-up: %+v; want one waiting", c)
	}
	sim.LoseWebhooks(true)
	clock.Advance(10 * time.Second) // the caller hangs up; nobody tells Tocsin
	sim.LoseWebhooks(false)
	if rec, _ := sim.Queue(activation.QueueName(id)); rec.Abandoned != 1 {
		t.Fatalf("simulator's record: %+v; want the caller abandoned", rec)
	}
	if c := panel(); c.Waiting != 1 {
		t.Errorf("just after the lost hang-up: %+v; Tocsin cannot know yet", c)
	}
	for range 4 {
		clock.Advance(time.Minute)
	}
	if c, want := panel(), (tocsin.PublicCalls{Total: 1, PutThrough: 1, Queued: 1, Unanswered: 1}); c != want {
		t.Errorf("minutes later: %+v, want %+v", c, want)
	}
	if got := scrape(t, a).sum("tocsin_cip_public_calls_waiting"); got != 0 {
		t.Errorf("callers waiting in the metrics: %v, want 0", got)
	}
}

// The CIP's page follows its activation's live feed: a caller joining
// the queue brings a "cip" message, which makes the page read itself
// again.
func TestACallerOfThePublicLineReachesTheLiveFeed(t *testing.T) {
	t.Parallel()
	a, clock, id := startCIP(t, nil)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(t, a, id, "cip-02", tocsin.OperatorInPosition)
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	c, _, err := dialLive(t, b, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := a.Simulator().Arrive(twiliosim.Caller{URL: a.URL() + "/twilio/voice/public", From: fictionMobile(900), To: publicNumber}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	readUntil(t, c, 5*time.Second, "a cip message", func(m liveMsg) bool { return m.Type == "cip" && m.Activation == id })
}
