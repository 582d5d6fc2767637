package twiliosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzCreateForms throws arbitrary forms at the create and list endpoints:
// the answer must be Twilio-shaped JSON (201, 200 or a 4xx with a code),
// never a panic.
func FuzzCreateForms(f *testing.F) {
	f.Add("To=%2B33639980001&From=%2B33639980000&Body=OK", "Messages.json")
	f.Add("To=%2B33639980001&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&Body=%C3%AA", "Messages.json")
	f.Add("To=%2B33639980001&From=%2B33639980000&Twiml=x&StatusCallbackEvent=initiated+ringing&Timeout=9999", "Calls.json")
	f.Add("To=%2B33235000001&From=%2B33639980000&Url=http%3A%2F%2Fapp.test%2Fv&Method=get&MachineDetection=Enable&TimeLimit=5", "Calls.json")
	f.Add("To=%zz&Body", "Calls.json")
	f.Add("PageSize=0&Page=-3&PageToken=PB&DateSent%3C=2024-13-45", "Messages.json")
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	// The demo's officials answer calls: their TwiML comes from memory,
	// never from the fuzzed URLs.
	sim := New(Config{AccountSID: testSID, AuthToken: testToken, Clock: clock, Profile: DemoProfile(),
		HTTPClient: &http.Client{Transport: docTransport{"text/xml", []byte(`<Response><Gather numDigits="1"/></Response>`)}}})
	f.Cleanup(sim.Close)
	h := sim.Handler()
	f.Fuzz(func(t *testing.T, form, resource string) {
		for _, method := range []string{"POST", "GET"} {
			target := "/2010-04-01/Accounts/" + testSID + "/" + url.PathEscape(resource)
			var req *http.Request
			if method == "POST" {
				req = httptest.NewRequest(method, target, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req = httptest.NewRequest(method, target+"?"+url.PathEscape(form), nil)
			}
			req.SetBasicAuth(testSID, testToken)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 300 && w.Code < 400 {
				continue // ServeMux redirecting a path such as "." to its clean form
			}
			body, _ := io.ReadAll(w.Body)
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("%s %s %q: %d, not JSON: %q", method, resource, form, w.Code, body)
			}
			if w.Code >= 400 && v["code"] == nil {
				t.Fatalf("%s %s %q: %d without a Twilio code: %s", method, resource, form, w.Code, body)
			}
		}
		clock.Advance(time.Hour)
	})
}

// FuzzParseProfile: any file is a profile or an error, never a panic, and
// what parses validates.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(profileYAML))
	f.Add([]byte(profileJSON))
	f.Add([]byte("delivery: {min: 1s, max: 1h}\nmix: [{weight: 1}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed profile does not validate: %v", err)
		}
		p.PersonaFor("+33639980001")
	})
}

// FuzzParseTwiML: any document is TwiML or an error, never a panic, and
// what parses can be read by the player's accessors.
func FuzzParseTwiML(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Say language="fr-FR" loop="0">EXERCICE</Say><Gather numDigits="1" action="ack"><Say>1</Say><Pause length="-3"/></Gather><Redirect method="GET">x</Redirect><Hangup/></Response>`))
	f.Add([]byte(`<Response><Say>a<break time="1s"/>b<prosody rate="slow">c</prosody></Say><Gather><Gather><Say/></Gather></Gather></Response>`))
	f.Add([]byte(`<Response><Pause length="99999999999999999999"/><Gather timeout="9223372036854775807" numDigits="x" finishOnKey=""/></Response>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><Response/>`))
	f.Add([]byte(`<Response></Response><Response/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		verbs, err := parseTwiML(data)
		if err != nil {
			return
		}
		var walk func([]verb)
		walk = func(vs []verb) {
			for i := range vs {
				v := &vs[i]
				_ = v.sayLoops()
				if d := v.pauseLength(); d < 0 || d > maxPause*time.Second {
					t.Fatalf("pause of %s", d)
				}
				_ = v.method()
				g := newGatherRun(v)
				if d := secondsOf(g.timeoutSecond); d < 0 {
					t.Fatalf("gather timeout of %s", d)
				}
				walk(v.children)
			}
		}
		walk(verbs)
	})
}

// docTransport answers every request with the same document: the TwiML
// fetches, the actions and the redirects get it, and so do the status
// callbacks.
type docTransport struct {
	contentType string
	doc         []byte
}

func (d docTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {d.contentType}},
		Body:       io.NopCloser(bytes.NewReader(d.doc)),
		Request:    r,
	}, nil
}

// FuzzCallTwiML plays any document to every kind of official, the
// document answering its own actions and redirects: the call must end
// within its time limit, never panic, and fetch at most maxFetches
// documents.
func FuzzCallTwiML(f *testing.F) {
	f.Add([]byte(`<Response><Say>Alerte</Say><Gather numDigits="1" action="/ack"><Say>Appuyez</Say></Gather><Redirect>/again</Redirect></Response>`), "text/xml")
	f.Add([]byte(`<Response><Gather actionOnEmptyResult="true" timeout="0"/></Response>`), "application/xml")
	f.Add([]byte(`<Response><Say loop="0">x</Say></Response>`), "text/xml")
	f.Add([]byte(`<Response><Redirect>ftp://x/</Redirect><Redirect>%zz</Redirect></Response>`), "text/xml")
	f.Add([]byte(`Bonjour`), "text/plain")
	f.Add([]byte(`<Response><Say>`), "text/html; charset=utf-8")
	personas := []Persona{
		{Call: Answer},
		{Call: Answer, Press: "12#", PressAfter: Fixed(time.Second)},
		{Call: Answer, Press: PressNothing, HangUpAfter: Fixed(time.Minute)},
		{Call: Voicemail},
	}
	f.Fuzz(func(t *testing.T, doc []byte, contentType string) {
		clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
		numbers := map[string]Persona{}
		for i, p := range personas {
			numbers[fmt.Sprintf("+3363998000%d", i)] = p
		}
		sim := New(Config{
			AccountSID: testSID, AuthToken: testToken, Clock: clock,
			HTTPClient: &http.Client{Transport: docTransport{contentType, doc}},
			Profile:    Profile{Numbers: numbers},
		})
		defer sim.Close()
		h := sim.Handler()
		for i := range personas {
			form := url.Values{
				"To": {fmt.Sprintf("+3363998000%d", i)}, "From": {testFrom},
				"Url": {"http://app.test/voice?attempt=a1"}, "StatusCallback": {"http://app.test/status"},
				"StatusCallbackEvent": {"initiated ringing answered completed"}, "TimeLimit": {"3600"},
			}
			if i == 3 {
				form.Set("Url", "")
				form.Set("Twiml", string(doc))
				form.Set("MachineDetection", "Enable")
			}
			req := httptest.NewRequest("POST", "/2010-04-01/Accounts/"+testSID+"/Calls.json", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testSID, testToken)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
		}
		clock.Advance(2 * time.Hour)
		for _, c := range sim.Calls() {
			if !c.Ended() {
				t.Fatalf("call to %s still %s after two hours", c.To, c.Status)
			}
			if len(c.Fetches) > maxFetches+1 {
				t.Fatalf("call to %s made %d fetches", c.To, len(c.Fetches))
			}
		}
		if n := clock.Pending(); n != 0 {
			t.Fatalf("%d timers left", n)
		}
	})
}
