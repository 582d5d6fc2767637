package twiliosim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// voiceApp is the product's side of calls in a test: it serves TwiML by
// path and records every request with whether twilio-go's validator
// accepts its signature, as Tocsin checks it.
type voiceApp struct {
	*httptest.Server
	token string
	mu    sync.Mutex
	pages map[string]func(appRequest) appPage
	log   []appRequest
}

// appRequest is one request the app received.
type appRequest struct {
	Method string
	Path   string
	URL    string     // as requested, query included
	Form   url.Values // the POST body, or the query of a GET
	Valid  bool
	Agent  string
}

// appPage is what the app answers.
type appPage struct {
	status      int
	contentType string
	body        string
}

// twimlPage is a TwiML answer, as twilio-go's twiml package writes it.
func twimlPage(verbs string) appPage {
	return appPage{http.StatusOK, "application/xml", `<?xml version="1.0" encoding="UTF-8"?><Response>` + verbs + `</Response>`}
}

func newVoiceApp(t testing.TB) *voiceApp {
	t.Helper()
	a := &voiceApp{token: testToken, pages: map[string]func(appRequest) appPage{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		full := a.Server.URL + r.URL.RequestURI()
		v := client.NewRequestValidator(a.token)
		req := appRequest{
			Method: r.Method,
			Path:   r.URL.Path,
			URL:    full,
			Valid:  v.ValidateBody(full, body, r.Header.Get("X-Twilio-Signature")),
			Agent:  r.UserAgent(),
		}
		if r.Method == http.MethodGet {
			req.Form = r.URL.Query()
		} else {
			req.Form, _ = url.ParseQuery(string(body))
		}
		a.mu.Lock()
		a.log = append(a.log, req)
		f := a.pages[r.URL.Path]
		a.mu.Unlock()
		p := appPage{http.StatusOK, "text/plain", "OK"}
		if f != nil {
			p = f(req)
		}
		w.Header().Set("Content-Type", p.contentType)
		w.WriteHeader(p.status)
		_, _ = io.WriteString(w, p.body)
	}))
	t.Cleanup(a.Close)
	return a
}

// serve answers requests to path with p.
func (a *voiceApp) serve(path string, p appPage) {
	a.serveFunc(path, func(appRequest) appPage { return p })
}

func (a *voiceApp) serveFunc(path string, f func(appRequest) appPage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pages[path] = f
}

// requests returns the requests received on path, oldest first.
func (a *voiceApp) requests(path string) []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []appRequest
	for _, r := range a.log {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// statuses returns the CallStatus of every status callback received.
func (a *voiceApp) statuses() []string {
	var out []string
	for _, r := range a.requests("/voice/status") {
		out = append(out, r.Form.Get("CallStatus"))
	}
	return out
}

// callParams are the create parameters of a call to to that fetches its
// TwiML from the app and reports every event.
func (a *voiceApp) callParams(to string) *openapi.CreateCallParams {
	return (&openapi.CreateCallParams{}).SetTo(to).SetFrom(testFrom).
		SetUrl(a.URL + "/voice/call?attempt=a1").
		SetStatusCallback(a.URL + "/voice/status").
		SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
}

// dial places a call through twilio-go and returns its SID.
func dial(t testing.TB, api *openapi.ApiService, p *openapi.CreateCallParams) string {
	t.Helper()
	c, err := api.CreateCall(p)
	if err != nil {
		t.Fatalf("create call: %v", err)
	}
	return str(c.Sid)
}

// runToEnd advances the clock by small steps until the call ends, at most
// limit.
func runToEnd(t testing.TB, clock *ManualClock, srv *Server, sid string, limit time.Duration) Call {
	t.Helper()
	for passed := time.Duration(0); passed <= limit; passed += 100 * time.Millisecond {
		if c, _ := srv.Call(sid); c.Ended() {
			return c
		}
		clock.Advance(100 * time.Millisecond)
	}
	c, _ := srv.Call(sid)
	t.Fatalf("call %s still %s after %s; heard:\n%s", sid, c.Status, limit, c.Transcript())
	return c
}

// checkVoiceRequest checks the fields of Twilio's voice request.
func checkVoiceRequest(t testing.TB, r appRequest, sid, to string) {
	t.Helper()
	if !r.Valid {
		t.Errorf("%s %s: signature rejected", r.Method, r.URL)
	}
	for k, want := range map[string]string{
		"CallSid": sid, "AccountSid": testSID, "From": testFrom, "To": to, "Called": to, "Caller": testFrom,
		"CallStatus": "in-progress", "Direction": "outbound-api", "ApiVersion": "2010-04-01",
	} {
		if got := r.Form.Get(k); got != want {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, k, got, want)
		}
	}
	if r.Agent != "TwilioProxy/1.1" {
		t.Errorf("User-Agent %q", r.Agent)
	}
}

func says(texts ...string) string {
	var b strings.Builder
	for _, t := range texts {
		b.WriteString(`<Say language="fr-FR">` + t + `</Say>`)
	}
	return b.String()
}
