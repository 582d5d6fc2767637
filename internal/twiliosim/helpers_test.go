package twiliosim

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testFrom  = "+33639980000"
	mayor     = "+33639980001"
	deputy    = "+33639980002"
	townHall  = "+33235000001"
	serviceID = "MG0123456789abcdef0123456789abcdef"
)

// rewrite sends twilio-go's requests to the simulator, as Tocsin does.
type rewrite struct{ target *url.URL }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rw.target.Scheme, rw.target.Host, rw.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// twilioAPI returns twilio-go's API client talking to srv with sid/token.
func twilioAPI(t testing.TB, srv *Server, sid, token string) *openapi.ApiService {
	t.Helper()
	return twilioAPIWith(t, srv, sid, token, 5*time.Second)
}

// twilioAPITimeout is twilioAPI with the test credentials and a client
// timeout.
func twilioAPITimeout(t testing.TB, srv *Server, timeout time.Duration) *openapi.ApiService {
	t.Helper()
	return twilioAPIWith(t, srv, testSID, testToken, timeout)
}

func twilioAPIWith(t testing.TB, srv *Server, sid, token string, timeout time.Duration) *openapi.ApiService {
	t.Helper()
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(sid, token),
		HTTPClient:  &http.Client{Transport: rewrite{target}, Timeout: timeout},
	}
	c.SetAccountSid(sid)
	return openapi.NewApiServiceWithClient(c)
}

// start runs a simulator with the test credentials and cfg's other
// settings, and twilio-go's client for it.
func start(t testing.TB, cfg Config) (*Server, *openapi.ApiService) {
	t.Helper()
	cfg.AccountSID, cfg.AuthToken = testSID, testToken
	srv := mustStart(t, cfg)
	return srv, twilioAPI(t, srv, testSID, testToken)
}

// hook is a webhook receiver, as Tocsin's would be: it records every
// request and whether twilio-go's validator accepts its signature for the
// URL it was posted to.
type hook struct {
	*httptest.Server
	token string
	got   chan received
	// delay, when set, holds each request that long before answering.
	delay  time.Duration
	status int
}

type received struct {
	URL   string
	Form  url.Values
	Body  []byte
	Sig   string
	Valid bool
	Agent string
}

func newHook(t testing.TB, token string) *hook {
	t.Helper()
	h := &hook{token: token, got: make(chan received, 1000), status: http.StatusOK}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		full := h.Server.URL + r.URL.RequestURI()
		v := client.NewRequestValidator(h.token)
		form, _ := url.ParseQuery(string(body))
		sig := r.Header.Get("X-Twilio-Signature")
		if h.delay > 0 {
			time.Sleep(h.delay)
		}
		h.got <- received{URL: full, Form: form, Body: body, Sig: sig, Valid: v.ValidateBody(full, body, sig), Agent: r.UserAgent()}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(h.status)
		_, _ = io.WriteString(w, "<Response/>")
	}))
	t.Cleanup(h.Close)
	return h
}

// next returns the next request received, failing after a few seconds.
func (h *hook) next(t testing.TB) received {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook received")
		return received{}
	}
}

// none checks that nothing arrives for d.
func (h *hook) none(t testing.TB, d time.Duration) {
	t.Helper()
	if d == 0 {
		select {
		case r := <-h.got:
			t.Fatalf("unexpected webhook: %v", r.Form)
		default:
			return
		}
	}
	select {
	case r := <-h.got:
		t.Fatalf("unexpected webhook: %v", r.Form)
	case <-time.After(d):
	}
}

// waitFor polls cond until it holds or a few seconds have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// restError unwraps twilio-go's error for a failed request.
func restError(t testing.TB, err error) *client.TwilioRestError {
	t.Helper()
	var e *client.TwilioRestError
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want a *client.TwilioRestError", err, err)
	}
	return e
}

// sendSMS creates a message through twilio-go.
func sendSMS(t testing.TB, api *openapi.ApiService, to, body, callback string) *openapi.ApiV2010Message {
	t.Helper()
	p := (&openapi.CreateMessageParams{}).SetTo(to).SetFrom(testFrom).SetBody(body)
	if callback != "" {
		p.SetStatusCallback(callback)
	}
	m, err := api.CreateMessage(p)
	if err != nil {
		t.Fatalf("create message to %s: %v", to, err)
	}
	return m
}

// do sends a raw request with the test credentials.
func do(t testing.TB, method, u, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testSID, testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func smsParams(to string) *openapi.CreateMessageParams {
	return (&openapi.CreateMessageParams{}).SetTo(to).SetFrom(testFrom).SetBody("x")
}

// mustStart starts a simulator on a free loopback port and closes it when
// the test ends (testingutil.MustStartSimulator, which this package's own
// tests cannot import).
func mustStart(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := Start("127.0.0.1:0", cfg)
	if err != nil {
		tb.Fatalf("start Twilio simulator: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
