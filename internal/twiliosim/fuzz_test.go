package twiliosim

import (
	"encoding/json"
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
	f.Add("To=%zz&Body", "Calls.json")
	f.Add("PageSize=0&Page=-3&PageToken=PB&DateSent%3C=2024-13-45", "Messages.json")
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	sim := New(Config{AccountSID: testSID, AuthToken: testToken, Clock: clock, Profile: DemoProfile()})
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
