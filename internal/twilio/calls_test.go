package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// twimlURL is where the web layer would serve a call's TwiML; the
// simulator does not fetch it for calls nobody answers.
const twimlURL = "https://tocsin.example.fr/webhooks/twilio/voice/twiml?attempt=r1-2"

// The mayor of Dieppe does not pick up: the call rings for the ring time
// given, then ends no-answer, and every progress event reaches Tocsin
// signed.
func TestCallRingsOut(t *testing.T) {
	clock := twiliosim.NewManualClock(time.Date(2026, 4, 30, 8, 0, 0, 0, time.UTC))
	sim := startSim(t, clock)
	p := simProvider(t, sim.URL(), nil)
	hook := newCallbackReceiver(t)
	statusURL := hook.URL + "/webhooks/twilio/voice/status?attempt=r1-2"

	sid, status, err := p.Call(context.Background(), mayor, twimlURL, statusURL, 20*time.Second)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !strings.HasPrefix(sid, "CA") || status != tocsin.AttemptQueued {
		t.Errorf("Call = %q, %q; want a CA… sid and queued", sid, status)
	}
	calls := sim.CallsTo(mayor)
	if len(calls) != 1 {
		t.Fatalf("the simulator holds %d calls to the mayor, want 1", len(calls))
	}
	c := calls[0]
	if c.SID != sid || c.From != testFrom || c.URL != twimlURL || c.StatusCallback != statusURL || c.Timeout != 20 ||
		!slices.Equal(c.StatusCallbackEvents, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("the simulator recorded %+v; want the call from %s to the TwiML URL, 20 s of ringing and every event", c, testFrom)
	}

	v, err := NewValidator(testToken, hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(21 * time.Second)
	for _, want := range []tocsin.AttemptStatus{tocsin.AttemptInitiated, tocsin.AttemptRinging, tocsin.AttemptNoAnswer} {
		cb := hook.next(t)
		if !v.Valid(cb.path, cb.body, cb.sig) {
			t.Fatalf("a call status callback signed by the simulator is refused: %s %s", cb.path, cb.body)
		}
		form, _ := url.ParseQuery(string(cb.body))
		got, err := ParseCallStatus(form)
		if err != nil || got.CallSID != sid || got.Status != want || got.To != mayor || got.From != testFrom {
			t.Errorf("ParseCallStatus = %+v, %v; want %s for call %s to the mayor", got, err, want, sid)
		}
		if want == tocsin.AttemptNoAnswer && (got.SipResponseCode != 487 || got.Duration != 0) {
			t.Errorf("the final callback says SIP %d after %s; want 487 after 0s", got.SipResponseCode, got.Duration)
		}
	}
}

// A deployment may call from another number than it texts from, or text
// through a Messaging Service and call from a number of its own.
func TestCallCallerID(t *testing.T) {
	const callerID = "+33235000099"
	for name, edit := range map[string]func(*Config){
		"beside from": func(c *Config) { c.CallerID = callerID },
		"beside messaging service": func(c *Config) {
			c.From, c.MessagingServiceSID, c.CallerID = "", "MG0123456789abcdef0123456789abcdef", callerID
		},
	} {
		t.Run(name, func(t *testing.T) {
			sim := startSim(t, nil)
			p := simProvider(t, sim.URL(), edit)
			if _, _, err := p.Call(context.Background(), deputy, twimlURL, "", 0); err != nil {
				t.Fatalf("Call: %v", err)
			}
			calls := sim.CallsTo(deputy)
			if len(calls) != 1 || calls[0].From != callerID {
				t.Errorf("the simulator recorded %+v, want one call from %s", calls, callerID)
			}
			if len(calls) == 1 && calls[0].Timeout != 30 {
				t.Errorf("a call without ring time rings %d s, want the default 30 s", calls[0].Timeout)
			}
		})
	}
}

func TestCallThroughMessagingServiceOnly(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), func(c *Config) {
		c.From, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
	})
	sid, status, err := p.Call(context.Background(), mayor, twimlURL, "", 0)
	se := checkSendError(t, err, status, tocsin.AttemptRetry, tocsin.NotSentRetry, "no_caller_id")
	if sid != "" || !errors.Is(se, ErrNoCallerID) {
		t.Errorf("Call = %q, %v; want no sid and ErrNoCallerID", sid, err)
	}
	if !strings.Contains(err.Error(), "Messaging Service cannot place calls") {
		t.Errorf("error %q does not say why", err)
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("the simulator holds %d calls, want none", n)
	}
	// SMS still go out through the service.
	if _, _, err := p.SendSMS(context.Background(), mayor, "EXERCICE", ""); err != nil {
		t.Errorf("SendSMS through the service: %v", err)
	}
}

func TestCallErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		to      string
		fault   *twiliosim.Fault
		token   string
		outcome tocsin.SendOutcome
		reason  string
		code    int
		created bool // whether the simulator holds a call afterwards
	}{
		{name: "invalid number", to: "0235000001", outcome: tocsin.NotSentPermanent, reason: "invalid_number", code: 21211},
		{name: "rate limited", to: mayor, fault: &twiliosim.Fault{Status: 429, Resource: twiliosim.ResourceCalls}, outcome: tocsin.NotSentRetry, reason: "rate_limited", code: 20429},
		{name: "server error", to: mayor, fault: &twiliosim.Fault{Status: 500}, outcome: tocsin.Unknown, reason: "server_error", code: 20500},
		{name: "unavailable", to: mayor, fault: &twiliosim.Fault{Status: 503, Resource: twiliosim.ResourceCalls}, outcome: tocsin.Unknown, reason: "server_error", code: 20503},
		{name: "server error after create", to: mayor, fault: &twiliosim.Fault{Status: 500, AfterCreate: true, Resource: twiliosim.ResourceCalls}, outcome: tocsin.Unknown, reason: "server_error", code: 20500, created: true},
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
			sid, status, err := p.Call(context.Background(), tc.to, twimlURL, "", 0)
			if sid != "" {
				t.Errorf("Call returned sid %q with an error", sid)
			}
			se := checkSendError(t, err, status, statusFor(tc.outcome), tc.outcome, tc.reason)
			if se.Code != tc.code {
				t.Errorf("code %d, want %d", se.Code, tc.code)
			}
			want := 0
			if tc.created {
				want = 1
			}
			if got := len(sim.CallsTo(tc.to)); got != want {
				t.Errorf("the simulator holds %d calls to %s, want created=%v", got, tc.to, tc.created)
			}
			if s := err.Error(); strings.Contains(s, token) {
				t.Errorf("the error shows the auth token: %s", s)
			}
		})
	}
}

// Twilio's voice refusals, as its API answers them.
func TestCallRefusedForGood(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
	}{
		{21215, "region_not_enabled"},
		{21216, "call_blocked"},
		{21217, "invalid_number"},
		{13223, "invalid_number"},
		{13224, "invalid_number"},
		{21210, ""}, // the caller ID is not the account's: a configuration fix, not the number
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			p, _ := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"code": %d, "message": "refused", "more_info": "https://www.twilio.com/docs/errors/%d", "status": 400}`, tc.code, tc.code)
			})
			_, status, err := p.Call(context.Background(), mayor, twimlURL, "", 0)
			outcome, reason := tocsin.NotSentPermanent, tc.reason
			if reason == "" {
				outcome, reason = tocsin.NotSentRetry, "client_error"
			}
			if se := checkSendError(t, err, status, statusFor(outcome), outcome, reason); se.Code != tc.code {
				t.Errorf("code %d, want %d", se.Code, tc.code)
			}
		})
	}
}

// What Call asks of Twilio, as the request reads on the wire.
func TestCallRequest(t *testing.T) {
	var mu sync.Mutex
	var got url.Values
	p, _ := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		got = r.PostForm
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued"}`))
	})
	for _, tc := range []struct {
		ring     time.Duration
		callback string
		timeout  string
	}{
		{45 * time.Second, "https://tocsin.example.fr/webhooks/twilio/voice/status?attempt=r1-2", "45"},
		{1500 * time.Millisecond, "", "2"},
		{-time.Second, "", "30"},
		{time.Hour, "", "600"},
	} {
		sid, status, err := p.Call(context.Background(), mayor, twimlURL, tc.callback, tc.ring)
		if err != nil || sid != "CA0123456789abcdef0123456789abcdef" || status != tocsin.AttemptQueued {
			t.Fatalf("Call = %q, %q, %v", sid, status, err)
		}
		mu.Lock()
		form := got
		mu.Unlock()
		want := url.Values{
			"To": {mayor}, "From": {testFrom}, "Url": {twimlURL}, "Method": {"POST"}, "Timeout": {tc.timeout},
		}
		if tc.callback != "" {
			want["StatusCallback"] = []string{tc.callback}
			want["StatusCallbackMethod"] = []string{"POST"}
			want["StatusCallbackEvent"] = []string{"initiated", "ringing", "answered", "completed"}
		}
		if form.Encode() != want.Encode() {
			t.Errorf("ring time %s: Call sent\n%v\nwant\n%v", tc.ring, form, want)
		}
	}
}

func TestCallRefusesWithoutTwiMLURL(t *testing.T) {
	p, hits := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {})
	_, status, err := p.Call(context.Background(), mayor, "", "", 0)
	checkSendError(t, err, status, tocsin.AttemptRetry, tocsin.NotSentRetry, "client_error")
	if hits.Load() != 0 {
		t.Error("a call without TwiML URL reached the server")
	}
}

func TestCallHonoursContext(t *testing.T) {
	release := make(chan struct{})
	p, hits := newFake(t, 10*time.Second, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, status, err := p.Call(done, mayor, twimlURL, "", 0)
	checkSendError(t, err, status, tocsin.AttemptRetry, tocsin.NotSentRetry, "canceled")
	if _, err := p.ListCalls(done, mayor, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListCalls with a canceled context: got %v, want context.Canceled", err)
	}
	if hits.Load() != 0 {
		t.Fatal("a call with a canceled context reached the server")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, status, err = p.Call(ctx, mayor, twimlURL, "", 0)
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "timeout")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Call took %s after its context ended at 100ms", d)
	}
}

// A call created by Twilio whose creation answer was lost is found by
// listing, so the official is not called a second time.
func TestUnknownCallSettledByListing(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), nil)
	attemptWritten := time.Now()
	if err := sim.InjectFault(twiliosim.Fault{Status: 503, AfterCreate: true, Resource: twiliosim.ResourceCalls}); err != nil {
		t.Fatal(err)
	}
	_, status, err := p.Call(context.Background(), mayor, twimlURL, "", 0)
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "server_error")

	got, err := p.ListCalls(context.Background(), mayor, attemptWritten)
	if err != nil {
		t.Fatalf("ListCalls: %v", err)
	}
	want := sim.CallsTo(mayor)
	if len(want) != 1 || len(got) != 1 || got[0].SID != want[0].SID || got[0].To != mayor ||
		got[0].Body != "" || !got[0].Status.Accepted() {
		t.Fatalf("ListCalls = %+v, want the one call the simulator created: %+v", got, want)
	}
	// Messages and calls are listed apart.
	if sms, err := p.ListSMS(context.Background(), mayor, attemptWritten); err != nil || len(sms) != 0 {
		t.Errorf("ListSMS after a call = %+v, %v; want nothing", sms, err)
	}
}

func TestListCallsPagesAndStopsAtSince(t *testing.T) {
	t0 := time.Date(2026, 4, 30, 22, 30, 0, 0, time.UTC)
	clock := twiliosim.NewManualClock(t0)
	sim := startSim(t, clock)
	base, gets := prefixProxy(t, sim, "/twilio")
	p := simProvider(t, base, nil)
	p.pageSize = 2
	ctx := context.Background()

	call := func(to string) string {
		t.Helper()
		sid, _, err := p.Call(ctx, to, twimlURL, "", 20*time.Second)
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		return sid
	}
	earlier := map[string]bool{}
	for range 3 {
		earlier[call(mayor)] = true
	}
	// The earlier calls ring out. The attempt is written 700 ms into a
	// second past midnight UTC; the new calls stay queued, with no
	// start_time, and must still be found.
	clock.Advance(90*time.Minute + 700*time.Millisecond)
	since := clock.Now()
	var want []string
	for range 5 {
		want = append([]string{call(mayor)}, want...)
		call(deputy)
	}
	gets.Store(0)

	got, err := p.ListCalls(ctx, mayor, since)
	if err != nil {
		t.Fatalf("ListCalls: %v", err)
	}
	var sids []string
	for _, c := range got {
		sids = append(sids, c.SID)
		if c.To != mayor || c.Status != tocsin.AttemptQueued || c.Body != "" || c.CreatedAt.Before(since.Truncate(time.Second)) {
			t.Errorf("listed %+v: want a queued call to the mayor created since %s", c, since)
		}
	}
	if strings.Join(sids, ",") != strings.Join(want, ",") {
		t.Errorf("ListCalls = %v, want the 5 new calls newest first %v", sids, want)
	}
	// Pages of 2: [n4 n3] [n2 n1] [n0 e2]; the third reaches past since.
	if n := gets.Load(); n != 3 {
		t.Errorf("ListCalls fetched %d pages, want 3", n)
	}

	all, err := p.ListCalls(ctx, mayor, time.Time{})
	if err != nil || len(all) != 8 {
		t.Fatalf("ListCalls since the zero time = %d calls, %v; want all 8", len(all), err)
	}
	for _, c := range all {
		if earlier[c.SID] && c.Status != tocsin.AttemptNoAnswer {
			t.Errorf("an earlier call is listed %s, want no-answer", c.Status)
		}
	}
	none, err := p.ListCalls(ctx, "+33639980099", time.Time{})
	if err != nil || len(none) != 0 {
		t.Errorf("ListCalls for a number never called = %v, %v; want nothing", none, err)
	}
	if _, err := p.ListCalls(ctx, "", time.Time{}); err == nil {
		t.Error("ListCalls for no number: no error; it would list the whole account")
	}
}

func TestListCallsRefusesBadRecords(t *testing.T) {
	for name, body := range map[string]string{
		"no date":       `{"calls": [{"sid": "CA1", "to": "+33639980001", "status": "queued"}]}`,
		"bad date":      `{"calls": [{"sid": "CA1", "to": "+33639980001", "status": "queued", "date_created": "yesterday"}]}`,
		"no sid":        `{"calls": [{"to": "+33639980001", "date_created": "Thu, 30 Apr 2026 08:00:00 +0000"}]}`,
		"repeated page": `{"calls": [], "next_page_uri": "/2010-04-01/Accounts/AC1/Calls.json?Page=1"}`,
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(body))
			})
			if got, err := p.ListCalls(context.Background(), mayor, time.Time{}); err == nil {
				t.Errorf("ListCalls = %+v, no error", got)
			}
		})
	}
}

func TestListCallsAuthFailure(t *testing.T) {
	sim := startSim(t, nil)
	p := simProvider(t, sim.URL(), func(c *Config) { c.AuthToken = "wrongtoken0123456789wrongtoken01" })
	_, err := p.ListCalls(context.Background(), mayor, time.Time{})
	if err == nil || strings.Contains(err.Error(), "wrongtoken") || strings.Contains(err.Error(), mayor) {
		t.Errorf("ListCalls with a wrong token: %v; want an error without the token or the number", err)
	}
}

func TestCallStatus(t *testing.T) {
	for in, want := range map[string]tocsin.AttemptStatus{
		"queued": tocsin.AttemptQueued, "initiated": tocsin.AttemptInitiated, "ringing": tocsin.AttemptRinging,
		"in-progress": tocsin.AttemptInProgress, "completed": tocsin.AttemptCompleted,
		"busy": tocsin.AttemptBusy, "no-answer": tocsin.AttemptNoAnswer,
		"canceled": tocsin.AttemptCanceled, "failed": tocsin.AttemptFailed,
	} {
		if got, ok := CallStatus(in); !ok || got != want {
			t.Errorf("CallStatus(%q) = %q, %v; want %q, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "answered", "delivered", "In-Progress", "no_answer"} {
		if got, ok := CallStatus(in); ok {
			t.Errorf("CallStatus(%q) = %q, true; want false", in, got)
		}
	}
}

// A 201 without a SID may still be a call placed: its outcome is unknown.
func TestCallCreatedWithoutSID(t *testing.T) {
	p, _ := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"status": "queued"}`))
	})
	sid, status, err := p.Call(context.Background(), mayor, twimlURL, "", 0)
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "bad_response")
	if sid != "" {
		t.Errorf("Call returned sid %q", sid)
	}
}
