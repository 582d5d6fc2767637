package twilio

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Numbers from ARCEP's fiction ranges, and what the simulated officials
// behind them do.
const (
	mayor        = "+33639980001"
	deputy       = "+33639980002"
	wrongNumber  = "+33639980011"
	townHall     = "+33235000001"
	unsubscribed = "+33639980013"
)

func startSim(t *testing.T, clock twiliosim.Clock) *twiliosim.Server {
	t.Helper()
	return testingutil.MustStartSimulator(t, twiliosim.Config{
		AccountSID: testSID,
		AuthToken:  testToken,
		Clock:      clock,
		Profile: twiliosim.Profile{Numbers: map[string]twiliosim.Persona{
			wrongNumber:  {Behaviour: twiliosim.Invalid},
			townHall:     {Behaviour: twiliosim.Landline},
			unsubscribed: {Behaviour: twiliosim.Unsubscribed},
		}},
	})
}

// simProvider returns a provider for apiURL (the simulator or a proxy in
// front of it), with cfg edited by edit.
func simProvider(t *testing.T, apiURL string, edit func(*Config)) *Provider {
	t.Helper()
	cfg := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: apiURL, Timeout: 5 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// callbackReceiver is Tocsin's webhook end as the web layer will build it:
// it checks the signature with a Validator for its public URL, and hands
// over what it got.
type callbackReceiver struct {
	*httptest.Server
	got chan callback
}

type callback struct {
	path string
	body []byte
	sig  string
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	t.Helper()
	cr := &callbackReceiver{got: make(chan callback, 16)}
	cr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cr.got <- callback{path: r.URL.RequestURI(), body: body, sig: r.Header.Get("X-Twilio-Signature")}
	}))
	t.Cleanup(cr.Close)
	return cr
}

func (cr *callbackReceiver) next(t *testing.T) callback {
	t.Helper()
	select {
	case cb := <-cr.got:
		return cb
	case <-time.After(5 * time.Second):
		t.Fatal("no status callback within 5s")
		return callback{}
	}
}

func TestSendSMS(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), nil)
	hook := newCallbackReceiver(t)

	sid, status, err := p.SendSMS(context.Background(), mayor, "EXERCICE inondation : répondez OK", hook.URL+"/webhooks/twilio/sms/status?attempt=r0-1")
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if !strings.HasPrefix(sid, "SM") || status != tocsin.AttemptQueued {
		t.Errorf("SendSMS = %q, %q; want an SM… sid and queued", sid, status)
	}
	got := sim.MessagesTo(mayor)
	if len(got) != 1 || got[0].SID != sid || got[0].Body != "EXERCICE inondation : répondez OK" || got[0].From != testFrom {
		t.Fatalf("the simulator recorded %+v, want one message %s from %s with the body sent", got, sid, testFrom)
	}

	// The status callback the simulator signed passes the validator, and
	// only as it was sent.
	v, err := NewValidator(testToken, hook.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	cb := hook.next(t)
	if !v.Valid(cb.path, cb.body, cb.sig) {
		t.Fatalf("a status callback signed by the simulator is refused: %s %s", cb.path, cb.body)
	}
	form, _ := url.ParseQuery(string(cb.body))
	parsed, err := ParseStatusCallback(form)
	if err != nil || parsed.MessageSID != sid || !parsed.Status.Accepted() {
		t.Errorf("ParseStatusCallback = %+v, %v; want sid %s and an accepted status", parsed, err, sid)
	}
	form.Set("MessageStatus", "failed")
	if v.Valid(cb.path, []byte(form.Encode()), cb.sig) {
		t.Error("a tampered status callback is accepted")
	}
	if v.Valid(strings.Replace(cb.path, "r0-1", "r0-2", 1), cb.body, cb.sig) {
		t.Error("a status callback replayed to another attempt's URL is accepted")
	}
	if v.Valid(cb.path, cb.body, "") {
		t.Error("a status callback without signature is accepted")
	}
	other, _ := NewValidator(testToken, "https://tocsin.example.fr")
	if other.Valid(cb.path, cb.body, cb.sig) {
		t.Error("a status callback signed for another public URL is accepted")
	}
}

func TestSendSMSThroughMessagingService(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), func(c *Config) {
		c.From, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
	})
	sid, status, err := p.SendSMS(context.Background(), mayor, "EXERCICE", "")
	if err != nil || sid == "" || status != tocsin.AttemptQueued {
		t.Fatalf("SendSMS = %q, %q, %v; want a sid, queued (Twilio's accepted), no error", sid, status, err)
	}
}

func TestSendSMSErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		to      string
		fault   *twiliosim.Fault
		token   string
		outcome tocsin.SendOutcome
		reason  string
		code    int
		created bool // whether the simulator holds a message afterwards
	}{
		{name: "invalid number", to: wrongNumber, outcome: tocsin.NotSentPermanent, reason: "invalid_number", code: 21211},
		{name: "landline", to: townHall, outcome: tocsin.NotSentPermanent, reason: "not_mobile", code: 21614},
		{name: "unsubscribed", to: unsubscribed, outcome: tocsin.NotSentPermanent, reason: "unsubscribed", code: 21610},
		{name: "rate limited", to: mayor, fault: &twiliosim.Fault{Status: 429}, outcome: tocsin.NotSentRetry, reason: "rate_limited", code: 20429},
		{name: "server error", to: mayor, fault: &twiliosim.Fault{Status: 500}, outcome: tocsin.Unknown, reason: "server_error", code: 20500},
		{name: "unavailable", to: mayor, fault: &twiliosim.Fault{Status: 503}, outcome: tocsin.Unknown, reason: "server_error", code: 20503},
		{name: "server error after create", to: mayor, fault: &twiliosim.Fault{Status: 500, AfterCreate: true}, outcome: tocsin.Unknown, reason: "server_error", code: 20500, created: true},
		{name: "wrong token", to: mayor, token: "wrongtoken0123456789wrongtoken01", outcome: tocsin.NotSentRetry, reason: "auth", code: 20003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, nil)
			if tc.fault != nil {
				if err := sim.InjectFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			token := testToken
			if tc.token != "" {
				token = tc.token
			}
			p := simProvider(t, sim.URL(), func(c *Config) { c.AuthToken = token })
			sid, status, err := p.SendSMS(context.Background(), tc.to, "EXERCICE", "")
			if sid != "" {
				t.Errorf("SendSMS returned sid %q with an error", sid)
			}
			se := checkSendError(t, err, status, statusFor(tc.outcome), tc.outcome, tc.reason)
			if se.Code != tc.code {
				t.Errorf("code %d, want %d", se.Code, tc.code)
			}
			want := 0
			if tc.created {
				want = 1
			}
			if got := len(sim.MessagesTo(tc.to)); got != want {
				t.Errorf("the simulator holds %d messages to %s, want created=%v", got, tc.to, tc.created)
			}
			if s := err.Error(); strings.Contains(s, token) {
				t.Errorf("the error shows the auth token: %s", s)
			}
		})
	}
}

// A message created by Twilio whose creation answer was lost is found by
// listing, so it is not sent a second time.
func TestUnknownOutcomeSettledByListing(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), nil)
	attemptWritten := time.Now()
	if err := sim.InjectFault(twiliosim.Fault{Status: 500, AfterCreate: true}); err != nil {
		t.Fatal(err)
	}
	_, status, err := p.SendSMS(context.Background(), mayor, "EXERCICE séisme, code 4821", "")
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "server_error")

	got, err := p.ListSMS(context.Background(), mayor, attemptWritten)
	if err != nil {
		t.Fatalf("ListSMS: %v", err)
	}
	want := sim.MessagesTo(mayor)
	if len(want) != 1 || len(got) != 1 || got[0].SID != want[0].SID || got[0].Body != "EXERCICE séisme, code 4821" ||
		got[0].To != mayor || !got[0].Status.Accepted() {
		t.Fatalf("ListSMS = %+v, want the one message the simulator created: %+v", got, want)
	}
}

// prefixProxy serves the simulator under prefix, as a gateway would, and
// counts the requests; a request outside the prefix fails the test.
func prefixProxy(t *testing.T, sim *twiliosim.Server, prefix string) (base string, gets *atomic.Int32) {
	t.Helper()
	target, _ := url.Parse(sim.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	gets = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix+"/2010-04-01/") {
			t.Errorf("request outside the API prefix: %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			gets.Add(1)
		}
		http.StripPrefix(prefix, rp).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + prefix + "/", gets
}

func TestListSMSPagesAndStopsAtSince(t *testing.T) {
	t0 := time.Date(2026, 4, 30, 22, 30, 0, 0, time.UTC)
	clock := twiliosim.NewManualClock(t0)
	sim := startSim(t, clock)
	base, gets := prefixProxy(t, sim, "/twilio")
	p := simProvider(t, base, nil)
	p.pageSize = 2
	ctx := context.Background()

	send := func(to, body string) string {
		t.Helper()
		sid, _, err := p.SendSMS(ctx, to, body, "")
		if err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		return sid
	}
	for i := range 3 {
		send(mayor, fmt.Sprintf("earlier activation %d", i))
	}
	// The attempt is written 700 ms into a second; Twilio's dates keep the
	// second only, so messages created in that same second must count. The
	// clock is not advanced again: the new messages stay queued, with no
	// date_sent, and still must be found. It is past midnight UTC: a
	// DateSent filter on the attempt's day would miss the earlier ones
	// anyway, and the new ones have no date_sent at all.
	clock.Advance(90*time.Minute + 700*time.Millisecond)
	since := clock.Now()
	var want []string
	for i := range 5 {
		want = append([]string{send(mayor, fmt.Sprintf("this activation %d", i))}, want...)
		send(deputy, "to someone else")
	}
	gets.Store(0)

	got, err := p.ListSMS(ctx, mayor, since)
	if err != nil {
		t.Fatalf("ListSMS: %v", err)
	}
	var sids []string
	for _, m := range got {
		sids = append(sids, m.SID)
		if m.To != mayor || m.Status != tocsin.AttemptQueued || m.CreatedAt.Before(since.Truncate(time.Second)) {
			t.Errorf("listed %+v: want a queued message to the mayor created since %s", m, since)
		}
	}
	if strings.Join(sids, ",") != strings.Join(want, ",") {
		t.Errorf("ListSMS = %v, want the 5 new messages newest first %v", sids, want)
	}
	// Pages of 2: [n4 n3] [n2 n1] [n0 e2]; the third reaches past since, so
	// the fourth is never asked for.
	if n := gets.Load(); n != 3 {
		t.Errorf("ListSMS fetched %d pages, want 3", n)
	}

	all, err := p.ListSMS(ctx, mayor, time.Time{})
	if err != nil || len(all) != 8 {
		t.Errorf("ListSMS since the zero time = %d messages, %v; want all 8", len(all), err)
	}
	none, err := p.ListSMS(ctx, "+33639980099", time.Time{})
	if err != nil || len(none) != 0 {
		t.Errorf("ListSMS for a number never texted = %v, %v; want nothing", none, err)
	}
}

func TestListSMSAuthFailure(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), func(c *Config) { c.AuthToken = "wrongtoken0123456789wrongtoken01" })
	_, err := p.ListSMS(context.Background(), mayor, time.Time{})
	if err == nil || strings.Contains(err.Error(), "wrongtoken") || strings.Contains(err.Error(), mayor) {
		t.Errorf("ListSMS with a wrong token: %v; want an error without the token or the number", err)
	}
}

func TestSendSMSConcurrently(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), nil)
	var wg sync.WaitGroup
	sids := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			sid, _, err := p.SendSMS(context.Background(), mayor, "EXERCICE", "")
			if err != nil {
				t.Error(err)
			}
			sids <- sid
		})
	}
	wg.Wait()
	close(sids)
	seen := map[string]bool{}
	for sid := range sids {
		seen[sid] = true
	}
	if len(seen) != 20 || len(sim.MessagesTo(mayor)) != 20 {
		t.Errorf("%d distinct sids, %d messages in the simulator; want 20 and 20", len(seen), len(sim.MessagesTo(mayor)))
	}
}

func TestProviderPrintsNoToken(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), nil)
	if _, _, err := p.SendSMS(context.Background(), mayor, "EXERCICE", ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%+v", p), fmt.Sprintf("%+v", *p), fmt.Sprintf("%#v", p)} {
		if strings.Contains(s, testToken) {
			t.Errorf("the provider prints its token: %s", s)
		}
	}
	var nilProvider *Provider
	if s := fmt.Sprintf("%v", nilProvider); s != "<nil>" {
		t.Errorf("a nil provider prints as %q, want <nil>", s)
	}
}
