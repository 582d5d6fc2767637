package twilio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/twilio/twilio-go/client"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	rest := func(status, code int) error { return &client.TwilioRestError{Status: status, Code: code} }
	transport := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://api.twilio.com/x?To=%2B33612345678", Err: err}
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

	for _, tc := range []struct {
		name        string
		err         error
		status      int    // HTTP status seen by the transport
		retryAfter  string // response header
		wrote       bool
		ctxErr      bool
		outcome     tocsin.SendOutcome
		reason      string
		code        int
		wantBackoff time.Duration
	}{
		{name: "invalid number", err: rest(400, 21211), status: 400, wrote: true, outcome: tocsin.NotSentPermanent, reason: "invalid_number", code: 21211},
		{name: "landline", err: rest(400, 21614), status: 400, wrote: true, outcome: tocsin.NotSentPermanent, reason: "not_mobile", code: 21614},
		{name: "unsubscribed", err: rest(400, 21610), status: 400, wrote: true, outcome: tocsin.NotSentPermanent, reason: "unsubscribed", code: 21610},
		{name: "cannot route", err: rest(400, 21612), status: 400, wrote: true, outcome: tocsin.NotSentPermanent, reason: "cannot_route", code: 21612},
		{name: "region", err: rest(400, 21408), status: 400, wrote: true, outcome: tocsin.NotSentPermanent, reason: "region_not_enabled", code: 21408},
		{name: "rate limited", err: rest(429, 20429), status: 429, retryAfter: "7", wrote: true, outcome: tocsin.NotSentRetry, reason: "rate_limited", code: 20429, wantBackoff: 7 * time.Second},
		{name: "rate limited date", err: rest(429, 20429), status: 429, retryAfter: now.Add(90 * time.Second).Format(http.TimeFormat), wrote: true, outcome: tocsin.NotSentRetry, reason: "rate_limited", code: 20429, wantBackoff: 90 * time.Second},
		{name: "429 without code or hint", err: errors.New("decode"), status: 429, wrote: true, outcome: tocsin.NotSentRetry, reason: "rate_limited"},
		{name: "huge hint capped", err: rest(429, 20429), status: 429, retryAfter: "99999999999", wrote: true, outcome: tocsin.NotSentRetry, reason: "rate_limited", code: 20429, wantBackoff: maxRetryAfter},
		{name: "bad token", err: rest(401, 20003), status: 401, wrote: true, outcome: tocsin.NotSentRetry, reason: "auth", code: 20003},
		{name: "token refused by the sdk", err: rest(400, 21224), outcome: tocsin.NotSentRetry, reason: "auth", code: 21224},
		{name: "other 4xx", err: rest(400, 21606), status: 400, wrote: true, outcome: tocsin.NotSentRetry, reason: "client_error", code: 21606},
		{name: "not found", err: rest(404, 20404), status: 404, wrote: true, outcome: tocsin.NotSentRetry, reason: "client_error", code: 20404},
		{name: "5xx", err: rest(500, 20500), status: 500, wrote: true, outcome: tocsin.Unknown, reason: "server_error", code: 20500},
		{name: "5xx with html body", err: errors.New("error decoding the response for an HTTP error code: 502"), status: 502, wrote: true, outcome: tocsin.Unknown, reason: "server_error"},
		{name: "201 unreadable", err: errors.New("unexpected EOF"), status: 201, wrote: true, outcome: tocsin.Unknown, reason: "bad_response"},
		{name: "refused", err: transport(refused), outcome: tocsin.NotSentRetry, reason: "network"},
		{name: "reset after write", err: transport(syscall.ECONNRESET), wrote: true, outcome: tocsin.Unknown, reason: "network"},
		{name: "timeout after write", err: transport(timeoutErr{}), wrote: true, outcome: tocsin.Unknown, reason: "timeout"},
		{name: "timeout while dialing", err: transport(timeoutErr{}), outcome: tocsin.NotSentRetry, reason: "timeout"},
		{name: "canceled after write", err: transport(context.Canceled), wrote: true, ctxErr: true, outcome: tocsin.Unknown, reason: "canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &exchange{status: tc.status, header: http.Header{}}
			x.wrote.Store(tc.wrote)
			if tc.retryAfter != "" {
				x.header.Set("Retry-After", tc.retryAfter)
			}
			ctx := context.Background()
			if tc.ctxErr {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			se := classify(ctx, "create message", tc.err, x, now)
			if se.Outcome != tc.outcome || se.Reason.String() != tc.reason || se.Code != tc.code || se.RetryAfter != tc.wantBackoff {
				t.Errorf("got %s/%s code %d retry after %s, want %s/%s code %d retry after %s",
					se.Outcome, se.Reason, se.Code, se.RetryAfter, tc.outcome, tc.reason, tc.code, tc.wantBackoff)
			}
			if !errors.Is(se, tc.err) && !errors.Is(se, errors.Unwrap(tc.err)) {
				t.Errorf("the send error does not wrap the cause %v", tc.err)
			}
			if got := se.Error(); containsAny(got, "+33612345678", "%2B33612345678") {
				t.Errorf("error %q shows the number from the request URL", got)
			}
		})
	}
}

func TestMessageStatus(t *testing.T) {
	for in, want := range map[string]tocsin.AttemptStatus{
		"accepted": tocsin.AttemptQueued, "scheduled": tocsin.AttemptQueued, "queued": tocsin.AttemptQueued,
		"sending": tocsin.AttemptSending, "sent": tocsin.AttemptSent,
		"delivered": tocsin.AttemptDelivered, "read": tocsin.AttemptDelivered,
		"undelivered": tocsin.AttemptUndelivered, "failed": tocsin.AttemptFailed, "canceled": tocsin.AttemptFailed,
	} {
		if got, ok := MessageStatus(in); !ok || got != want {
			t.Errorf("MessageStatus(%q) = %q, %v; want %q, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "received", "Delivered", "bogus"} {
		if got, ok := MessageStatus(in); ok {
			t.Errorf("MessageStatus(%q) = %q, true; want false", in, got)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
