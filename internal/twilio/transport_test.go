package twilio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestRewriteURL(t *testing.T) {
	for _, tc := range []struct{ api, in, want string }{
		{"http://127.0.0.1:8080", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
			"http://127.0.0.1:8080/2010-04-01/Accounts/AC1/Messages.json"},
		{"http://sim:8080/twilio/", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B33639980001&PageSize=2",
			"http://sim:8080/twilio/2010-04-01/Accounts/AC1/Messages.json?To=%2B33639980001&PageSize=2"},
		// A next page URI from a server that already includes its prefix.
		{"http://sim:8080/twilio", "https://api.twilio.com/twilio/2010-04-01/Accounts/AC1/Messages.json?Page=1",
			"http://sim:8080/twilio/2010-04-01/Accounts/AC1/Messages.json?Page=1"},
		{"https://edge.example.org/a%20b", "https://api.twilio.com/2010-04-01/x%2Fy.json",
			"https://edge.example.org/a%20b/2010-04-01/x%2Fy.json"},
	} {
		api, err := parseAPIURL(tc.api)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := url.Parse(tc.in)
		if got := rewriteURL(in, api).String(); got != tc.want {
			t.Errorf("rewrite %s to %s: got %s, want %s", tc.in, tc.api, got, tc.want)
		}
	}
}

// newFake starts a server that answers every request with h and a provider
// that talks to it.
func newFake(t *testing.T, timeout time.Duration, h http.HandlerFunc) (*Provider, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := validConfig()
	cfg.APIURL, cfg.Timeout = srv.URL, timeout
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, &hits
}

func checkSendError(t *testing.T, err error, status tocsin.AttemptStatus, wantStatus tocsin.AttemptStatus, outcome tocsin.SendOutcome, reason string) *tocsin.SendError {
	t.Helper()
	var se *tocsin.SendError
	if !errors.As(err, &se) {
		t.Fatalf("send: got %v, want a *tocsin.SendError", err)
	}
	if se.Outcome != outcome || se.Reason.String() != reason || status != wantStatus {
		t.Fatalf("send: got %s/%s and attempt status %q (%v), want %s/%s and %q",
			se.Outcome, se.Reason, status, err, outcome, reason, wantStatus)
	}
	return se
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := validConfig()
	cfg.APIURL = "http://" + addr
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, status, err := p.SendSMS(context.Background(), "+33639980001", "EXERCICE", "")
	checkSendError(t, err, status, tocsin.AttemptRetry, tocsin.NotSentRetry, "network")
}

func TestSendConnectionCutAfterRequest(t *testing.T) {
	p, hits := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	_, status, err := p.SendSMS(context.Background(), "+33639980001", "EXERCICE", "")
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "network")
	if hits.Load() != 1 {
		t.Errorf("the server saw %d requests, want 1 (no retry of a send)", hits.Load())
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	p, _ := newFake(t, 150*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	start := time.Now()
	_, status, err := p.SendSMS(context.Background(), "+33639980001", "EXERCICE", "")
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "timeout")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SendSMS took %s with a 150ms timeout", d)
	}
}

func TestSendHonoursContext(t *testing.T) {
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
	_, status, err := p.SendSMS(done, "+33639980001", "EXERCICE", "")
	checkSendError(t, err, status, tocsin.AttemptRetry, tocsin.NotSentRetry, "canceled")
	if hits.Load() != 0 {
		t.Fatalf("a send with a canceled context reached the server")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, status, err = p.SendSMS(ctx, "+33639980001", "EXERCICE", "")
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "timeout")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SendSMS took %s after its context ended at 100ms", d)
	}

	if _, err := p.ListSMS(done, "+33639980001", time.Time{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListSMS with a canceled context: got %v, want context.Canceled", err)
	}
}

func TestSendErrorsWithoutTwilioBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		outcome tocsin.SendOutcome
		reason  string
		after   time.Duration
	}{
		{"502 from a proxy", http.StatusBadGateway, nil, tocsin.Unknown, "server_error", 0},
		{"429 with a hint", http.StatusTooManyRequests, map[string]string{"Retry-After": "3"}, tocsin.NotSentRetry, "rate_limited", 3 * time.Second},
		{"401 from a proxy", http.StatusUnauthorized, nil, tocsin.NotSentRetry, "auth", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(tc.status)
				w.Write([]byte("<html>nope</html>"))
			})
			_, status, err := p.SendSMS(context.Background(), "+33639980001", "EXERCICE", "")
			se := checkSendError(t, err, status, statusFor(tc.outcome), tc.outcome, tc.reason)
			if se.RetryAfter != tc.after {
				t.Errorf("RetryAfter = %s, want %s", se.RetryAfter, tc.after)
			}
		})
	}
}

func TestSendCreatedButUnreadable(t *testing.T) {
	p, _ := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid": "SM1", "status": `))
	})
	_, status, err := p.SendSMS(context.Background(), "+33639980001", "EXERCICE", "")
	checkSendError(t, err, status, tocsin.AttemptCreated, tocsin.Unknown, "bad_response")
}
