package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Two replicas behind one public URL share one etcd and one Twilio
// account. Two callers wait in the queue that replica A answers; A stops
// (its leadership goes to B) while they wait; B answers the rest of their
// calls and of Anne's. Nothing is lost or counted twice: B's figures are
// the simulator's record.
func TestPublicQueueGoesOnWhenTheReplicaStops(t *testing.T) {
	t.Parallel()
	anne := "+33639981001"
	clock := twiliosim.NewManualClock(night)
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{Clock: clock, Profile: twiliosim.Profile{
		Numbers: map[string]twiliosim.Persona{anne: {Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(5 * time.Second)}},
		Dial:    twiliosim.Fixed(time.Second), Talk: twiliosim.Fixed(time.Minute),
	}})
	member := testingutil.MustStartEtcd(t)
	var target atomic.Pointer[url.URL]
	front := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target.Load())
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(front.Close)
	playbooks := t.TempDir()
	writeFile(t, filepath.Join(playbooks, "cip.yaml"), cipPlaybook)
	// Each replica listens on its own address, and knows itself by the
	// front's URL, as Twilio reaches it.
	replica := func(node, listen string) *app.App {
		a, err := app.New(app.Config{EtcdEndpoints: member.Endpoints(), NodeID: node, Listen: listen, PublicURL: front.URL,
			AdminToken: adminToken, PlaybooksDir: playbooks, LeaseTTL: 2, Clock: clock, Out: io.Discard,
			TwilioAccountSID: sim.AccountSID(), TwilioAuthToken: sim.AuthToken(), TwilioFrom: "+33639980000", TwilioAPIURL: sim.URL()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	addrA, addrB := freeAddr(t), freeAddr(t)
	target.Store(&url.URL{Scheme: "http", Host: addrA})
	a := replica("a", addrA)
	b := replica("b", addrB)
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(1)))}); err != nil {
		t.Fatal(err)
	}
	if st, body := rawRequest(t, a, "PUT", "/api/v1/cip/operators", adminToken, "text/csv", cipRosterCSV); st != http.StatusOK {
		t.Fatalf("roster import: %d %s", st, body)
	}
	id := activateCIPPlaybook(t, a)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)

	var callers []string
	for i, patience := range []time.Duration{0, 45 * time.Second} {
		sid, err := sim.Arrive(twiliosim.Caller{URL: front.URL + "/twilio/voice/public", From: fictionMobile(700 + i), To: publicNumber, Patience: patience})
		if err != nil {
			t.Fatal(err)
		}
		callers = append(callers, sid)
	}
	clock.Advance(15 * time.Second) // both queued, Anne rung by A
	if rec, _ := sim.Queue(activation.QueueName(id)); rec.Waiting != 2 || len(sim.CallsTo(anne)) != 1 {
		t.Fatalf("before A stops: %+v, Anne called %d times; want two waiting and Anne rung", rec, len(sim.CallsTo(anne)))
	}
	a.Close()
	target.Store(&url.URL{Scheme: "http", Host: addrB})
	for range 20 {
		clock.Advance(10 * time.Second)
	}
	rec, _ := sim.Queue(activation.QueueName(id))
	if rec.Enqueued != 2 || rec.Bridged+rec.Abandoned != 2 || rec.Bridged == 0 {
		t.Fatalf("simulator's record after A stopped: %+v", rec)
	}
	want := tocsin.PublicCalls{Total: 2, PutThrough: 2, Queued: 2, Answered: rec.Bridged, Abandoned: rec.Abandoned, LongestWaitSeconds: rec.LongestWait}
	testingutil.Await(t, 5*time.Second, "B's figures", func() (cipPanelView, bool) {
		var p cipPanelView
		api(t, b, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
		return p, p.Calls == want
	})
	if n := scrape(t, b).sum("tocsin_webhooks_total", "kind", "public_line", "result", "ok"); n == 0 {
		t.Errorf("B answered no webhook of the public line")
	}
	for _, sid := range callers {
		if c, _ := sim.Call(sid); !c.Ended() || c.ErrorCode != 0 {
			t.Errorf("caller %s: %s, error %d %s; want their call served to its end", sid, c.Status, c.ErrorCode, c.Error)
		}
	}
}
