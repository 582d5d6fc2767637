package twiliosim

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Each kind of virtual official, seen from the product: the status
// callbacks, what the TwiML request says, and the record.
func TestCallPersonas(t *testing.T) {
	doc := twimlPage(says(alert) + `<Gather numDigits="1" action="/voice/ack" timeout="5">` + says(prompt) + `</Gather>` + says(noReply))
	for _, c := range []struct {
		name       string
		persona    Persona
		amd        string
		statuses   []string
		answerer   string
		answeredBy string
		digits     string
		hungUpBy   string
		heard      bool
		ended      time.Duration // after create
	}{
		{name: "answers and presses 1", persona: Persona{Call: Answer, AnswerAfter: Fixed(10 * time.Second)},
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererHuman,
			digits: "1", hungUpBy: HungUpByTwiML, heard: true, ended: 12*time.Second + speakingTime(alert) + speakingTime(thanks)},
		{name: "answers late", persona: Persona{Call: Answer, AnswerAfter: Range{50 * time.Second, 59 * time.Second}},
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererHuman,
			digits: "1", hungUpBy: HungUpByTwiML, heard: true},
		{name: "would answer after the ring timeout", persona: Persona{Call: Answer, AnswerAfter: Fixed(61 * time.Second)},
			statuses: []string{"initiated", "ringing", "no-answer"}, ended: 62 * time.Second},
		{name: "never answers", persona: Persona{Behaviour: Silent},
			statuses: []string{"initiated", "ringing", "no-answer"}, ended: 62 * time.Second},
		{name: "busy", persona: Persona{Call: Busy},
			statuses: []string{"initiated", "ringing", "busy"}, ended: 3 * time.Second},
		{name: "invalid number", persona: Persona{Behaviour: Invalid},
			statuses: []string{"initiated", "failed"}, ended: 2 * time.Second},
		{name: "landline answers", persona: Persona{Behaviour: Landline},
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererHuman,
			digits: "1", hungUpBy: HungUpByTwiML, heard: true},
		{name: "voicemail", persona: Persona{Call: Voicemail, AnswerAfter: Fixed(20 * time.Second)},
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererVoicemail,
			hungUpBy: HungUpByTwiML, heard: true,
			ended: 22*time.Second + speakingTime(alert) + speakingTime(prompt) + 5*time.Second + speakingTime(noReply)},
		{name: "voicemail detected", persona: Persona{Call: Voicemail}, amd: "Enable",
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererVoicemail,
			answeredBy: "machine_start", hungUpBy: HungUpByTwiML, heard: true},
		{name: "voicemail detected at the beep", persona: Persona{Call: Voicemail}, amd: "DetectMessageEnd",
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererVoicemail,
			answeredBy: "machine_end_beep", hungUpBy: HungUpByTwiML, heard: true},
		{name: "human detected", persona: Persona{Call: Answer}, amd: "Enable",
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererHuman,
			answeredBy: "human", digits: "1", hungUpBy: HungUpByTwiML, heard: true,
			ended: 2*time.Second + amdHumanDelay + speakingTime(alert) + speakingTime(thanks)},
		{name: "hangs up during the message", persona: Persona{Call: Answer, HangUpAfter: Fixed(2 * time.Second)},
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererHuman,
			hungUpBy: HungUpByCallee, ended: 4 * time.Second},
		{name: "voicemail cut off", persona: Persona{Call: Voicemail, HangUpAfter: Fixed(time.Second)},
			statuses: []string{"initiated", "ringing", "in-progress", "completed"}, answerer: AnswererVoicemail,
			hungUpBy: HungUpByCallee, ended: 3 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewManualClock(t0)
			app := newVoiceApp(t)
			app.serve("/voice/call", doc)
			app.serve("/voice/ack", twimlPage(says(thanks)))
			srv, api := start(t, Config{Clock: clock, Profile: Profile{
				Dial: Fixed(time.Second), Numbers: map[string]Persona{mayor: c.persona},
			}})
			p := app.callParams(mayor)
			if c.amd != "" {
				p.SetMachineDetection(c.amd)
			}
			sid := dial(t, api, p)
			rec := runToEnd(t, clock, srv, sid, 5*time.Minute)
			if got := app.statuses(); !slices.Equal(got, c.statuses) {
				t.Errorf("callbacks %v, want %v", got, c.statuses)
			}
			if rec.Answerer != c.answerer || rec.AnsweredBy != c.answeredBy || rec.Digits != c.digits ||
				rec.HungUpBy != c.hungUpBy || rec.Heard("Pollet") != c.heard {
				t.Errorf("answerer %q answered_by %q digits %q hung up by %q, heard:\n%s",
					rec.Answerer, rec.AnsweredBy, rec.Digits, rec.HungUpBy, rec.Transcript())
			}
			if c.ended > 0 && !rec.EndTime.Equal(t0.Add(c.ended)) {
				t.Errorf("ended %s after create, want %s", rec.EndTime.Sub(t0), c.ended)
			}
			fetched := app.requests("/voice/call")
			if c.answerer == "" && len(fetched) != 0 || c.answerer != "" && len(fetched) != 1 {
				t.Fatalf("%d TwiML fetches", len(fetched))
			}
			if c.answerer != "" && fetched[0].Form.Get("AnsweredBy") != c.answeredBy {
				t.Errorf("TwiML request: AnsweredBy %q, want %q", fetched[0].Form.Get("AnsweredBy"), c.answeredBy)
			}
			cbs := app.requests("/voice/status")
			last := cbs[len(cbs)-1]
			if last.Form.Get("AnsweredBy") != c.answeredBy || last.Form.Get("CallDuration") != fmt.Sprint(rec.Duration) ||
				last.Form.Get("SipResponseCode") != sipCodes[rec.Status] {
				t.Errorf("completed callback %v", last.Form)
			}
			if c.answerer == "" && rec.Duration != 0 {
				t.Errorf("duration %d for a call nobody picked up", rec.Duration)
			}
			got, _ := api.FetchCall(sid, nil)
			if str(got.AnsweredBy) != map[bool]string{true: c.answeredBy, false: "<nil>"}[c.answeredBy != ""] {
				t.Errorf("answered_by %s", str(got.AnsweredBy))
			}
		})
	}
}

func TestStatusCallbackEventsAndMethod(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(says("Bonjour")))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer}}})
	sid := dial(t, api, app.callParams(mayor).SetStatusCallbackEvent([]string{"answered", "completed"}).SetStatusCallbackMethod("GET"))
	runToEnd(t, clock, srv, sid, time.Minute)
	cbs := app.requests("/voice/status")
	if got := app.statuses(); !slices.Equal(got, []string{"in-progress", "completed"}) {
		t.Fatalf("callbacks %v, want in-progress and completed only", got)
	}
	for i, r := range cbs {
		if r.Method != "GET" || !r.Valid || r.Form.Get("SequenceNumber") != fmt.Sprint(i) || r.Form.Get("CallSid") != sid {
			t.Errorf("callback %d: %s valid %v %v", i, r.Method, r.Valid, r.Form)
		}
	}
	if cbs[0].Form.Has("CallDuration") || cbs[1].Form.Get("CallDuration") != "1" {
		t.Errorf("CallDuration on answered %q, on completed %q", cbs[0].Form.Get("CallDuration"), cbs[1].Form.Get("CallDuration"))
	}
}

// A call counts as in progress, for MaxConcurrentCalls, until it ends:
// while it rings and while its TwiML plays.
func TestConcurrentCallsCountUntilTheEnd(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(`<Pause length="30"/>`))
	srv, api := start(t, Config{Clock: clock, MaxConcurrentCalls: 1, Profile: Profile{Default: Persona{Call: Answer, AnswerAfter: Fixed(5 * time.Second)}}})
	first := dial(t, api, app.callParams(mayor))
	tooMany := func(when string) {
		t.Helper()
		resp, body := do(t, "POST", srv.URL()+"/2010-04-01/Accounts/"+testSID+"/Calls.json", "application/x-www-form-urlencoded",
			"To=%2B33639980002&From=%2B33639980000&Twiml=%3CResponse%2F%3E")
		want := `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}` + "\n"
		if resp.StatusCode != 429 || string(body) != want {
			t.Errorf("%s: %d %s, want Twilio's 429", when, resp.StatusCode, body)
		}
	}
	tooMany("while the first rings")
	clock.Advance(10 * time.Second)
	if c, _ := srv.Call(first); c.Status != "in-progress" {
		t.Fatalf("first call %s", c.Status)
	}
	tooMany("while the first plays its TwiML")
	clock.Advance(25 * time.Second)
	if c, _ := srv.Call(first); c.Status != "completed" {
		t.Fatalf("first call %s", c.Status)
	}
	dial(t, api, app.callParams(deputy))
	if n := len(srv.Calls()); n != 2 {
		t.Errorf("%d calls recorded", n)
	}
}
