package twiliosim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The record a test reads, through the control endpoint.
func TestSimCallsJSON(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(says(alert)+`<Gather numDigits="1" action="/voice/ack"/>`))
	app.serve("/voice/ack", twimlPage(says(thanks)))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer}}})
	sid := dial(t, api, app.callParams(mayor))
	runToEnd(t, clock, srv, sid, time.Minute)
	var calls []Call
	_, body := do(t, "GET", srv.URL()+"/sim/calls?to=%2B33639980001", "", "")
	if err := json.Unmarshal(body, &calls); err != nil || len(calls) != 1 {
		t.Fatalf("GET /sim/calls: %s", body)
	}
	c := calls[0]
	if c.Digits != "1" || !c.Heard("Pollet") || c.Answerer != "human" || len(c.Fetches) != 2 || c.Fetches[1].Digits != "1" || c.Status != "completed" {
		t.Errorf("GET /sim/calls: %s", body)
	}
	for _, field := range []string{`"said":[{"text":"EXERCICE`, `"digits":"1"`, `"answerer":"human"`, `"reason":"gather"`, `"hung_up_by":"twiml"`} {
		if !strings.Contains(string(body), field) {
			t.Errorf("GET /sim/calls lacks %s: %s", field, body)
		}
	}
	resp, body := do(t, "GET", srv.URL()+"/sim/calls/"+sid, "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"sid":"`+sid+`"`) {
		t.Errorf("GET /sim/calls/{sid}: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", srv.URL()+"/sim/calls/CAnope", "", ""); resp.StatusCode != 404 {
		t.Errorf("GET /sim/calls/CAnope: %d", resp.StatusCode)
	}
}
