package twiliosim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

const gatherTwiML = `<Response><Gather numDigits="1"><Say language="fr-FR">Alerte</Say></Gather></Response>`

func placeCall(t testing.TB, api *openapi.ApiService, to, callback string, events ...string) *openapi.ApiV2010Call {
	t.Helper()
	p := (&openapi.CreateCallParams{}).SetTo(to).SetFrom(testFrom).SetTwiml(gatherTwiML)
	if callback != "" {
		p.SetStatusCallback(callback)
	}
	if len(events) > 0 {
		p.SetStatusCallbackEvent(events)
	}
	c, err := api.CreateCall(p)
	if err != nil {
		t.Fatalf("call %s: %v", to, err)
	}
	return c
}

func TestCallLifecycles(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	hook := newHook(t, testToken)
	prof := Profile{
		Dial: Fixed(time.Second),
		Numbers: map[string]Persona{
			"+33639980201": {Behaviour: Silent},
			"+33639980202": {Behaviour: Silent, Call: Busy},
			"+33639980203": {Behaviour: Invalid},
			townHall:       {Behaviour: Landline, Call: NoAnswer},
		},
	}
	_, api := start(t, Config{Clock: clock, Profile: prof})
	all := []string{"initiated", "ringing", "answered", "completed"}

	for _, c := range []struct {
		to      string
		timeout int
		steps   []time.Duration // between callbacks
		want    []string
	}{
		{"+33639980201", 20, []time.Duration{time.Second, time.Second, 20 * time.Second}, []string{"initiated", "ringing", "no-answer"}},
		{"+33639980202", 0, []time.Duration{time.Second, time.Second, time.Second}, []string{"initiated", "ringing", "busy"}},
		{"+33639980203", 0, []time.Duration{time.Second, time.Second}, []string{"initiated", "failed"}},
		{townHall, 0, []time.Duration{time.Second, time.Second, 60 * time.Second}, []string{"initiated", "ringing", "no-answer"}},
	} {
		p := (&openapi.CreateCallParams{}).SetTo(c.to).SetFrom(testFrom).SetTwiml(gatherTwiML).
			SetStatusCallback(hook.URL + "/voice/status?attempt=r1-1").SetStatusCallbackEvent(all)
		if c.timeout > 0 {
			p.SetTimeout(c.timeout)
		}
		call, err := api.CreateCall(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(str(call.Sid), "CA") || str(call.Status) != "queued" || call.StartTime != nil || str(call.Direction) != "outbound-api" {
			t.Errorf("%s at create: sid %s status %s start %s", c.to, str(call.Sid), str(call.Status), str(call.StartTime))
		}
		for i, want := range c.want {
			clock.Advance(c.steps[i] - time.Millisecond)
			hook.none(t, 0)
			clock.Advance(time.Millisecond)
			r := hook.next(t)
			if !r.Valid {
				t.Errorf("%s %s: signature rejected", c.to, want)
			}
			if got := r.Form.Get("CallStatus"); got != want {
				t.Errorf("%s: callback %d is %s, want %s", c.to, i, got, want)
			}
			for k, v := range map[string]string{
				"CallSid": str(call.Sid), "AccountSid": testSID, "To": c.to, "From": testFrom,
				"Direction": "outbound-api", "ApiVersion": "2010-04-01", "SequenceNumber": fmt.Sprint(i),
			} {
				if r.Form.Get(k) != v {
					t.Errorf("%s %s: %s = %q, want %q", c.to, want, k, r.Form.Get(k), v)
				}
			}
		}
		got, err := api.FetchCall(str(call.Sid), nil)
		if err != nil {
			t.Fatal(err)
		}
		final := c.want[len(c.want)-1]
		if str(got.Status) != final || got.StartTime == nil || got.EndTime == nil || str(got.Duration) != "0" {
			t.Errorf("%s fetched: status %s start %s end %s duration %s", c.to, str(got.Status), str(got.StartTime), str(got.EndTime), str(got.Duration))
		}
		hook.none(t, 5*time.Millisecond)
	}
}

func TestCallCallbackDefaultsToCompletedOnly(t *testing.T) {
	clock := NewManualClock(time.Now())
	hook := newHook(t, testToken)
	srv, api := start(t, Config{Clock: clock})
	call := placeCall(t, api, mayor, hook.URL+"/status")
	clock.Advance(2 * time.Minute)
	r := hook.next(t)
	if r.Form.Get("CallStatus") != "no-answer" || r.Form.Get("CallDuration") != "0" || r.Form.Get("SequenceNumber") != "0" {
		t.Errorf("only callback: %v", r.Form)
	}
	hook.none(t, 5*time.Millisecond)
	rec, ok := srv.Call(str(call.Sid))
	if !ok || rec.TwiML != gatherTwiML || rec.Timeout != 60 || rec.Outcome != NoAnswer {
		t.Errorf("record %+v", rec)
	}
}

func TestCallCreateErrors(t *testing.T) {
	srv, _ := start(t, Config{Numbers: []string{testFrom}})
	u := srv.URL() + "/2010-04-01/Accounts/" + testSID + "/Calls.json"
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"no To", "From=%2B33639980000&Url=http%3A%2F%2Fx%2Fy", 21201},
		{"no From", "To=%2B33639980001&Url=http%3A%2F%2Fx%2Fy", 21213},
		{"no Url", "To=%2B33639980001&From=%2B33639980000", 21205},
		{"bad Url", "To=%2B33639980001&From=%2B33639980000&Url=nope", 21205},
		{"bad From", "To=%2B33639980001&From=abc&Twiml=%3CResponse%2F%3E", 21212},
		{"From not verified", "To=%2B33639980001&From=%2B33639989999&Twiml=%3CResponse%2F%3E", 21210},
		{"bad To", "To=112&From=%2B33639980000&Twiml=%3CResponse%2F%3E", 21211},
		{"bad event", "To=%2B33639980001&From=%2B33639980000&Twiml=x&StatusCallback=http%3A%2F%2Fx%2F&StatusCallbackEvent=hangup", 20001},
		{"bad timeout", "To=%2B33639980001&From=%2B33639980000&Twiml=x&Timeout=soon", 20001},
	} {
		resp, body := do(t, "POST", u, "application/x-www-form-urlencoded", c.body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), fmt.Sprintf(`"code":%d`, c.code)) {
			t.Errorf("%s: %d %s, want 400 with code %d", c.name, resp.StatusCode, body, c.code)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls recorded", n)
	}
}

func TestListCalls(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	_, api := start(t, Config{Clock: clock, Profile: Profile{Dial: Fixed(time.Second)}})
	var sids []string
	for range 5 {
		sids = append(sids, str(placeCall(t, api, mayor, "").Sid))
		placeCall(t, api, deputy, "")
	}
	got, err := api.ListCall((&openapi.ListCallParams{}).SetTo(mayor).SetPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || str(got[0].Sid) != sids[4] || str(got[4].Sid) != sids[0] {
		t.Fatalf("listed %d calls to the mayor, want 5 newest first", len(got))
	}
	day := time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC)
	started, _ := api.ListCall((&openapi.ListCallParams{}).SetStartTimeAfter(day))
	if len(started) != 0 {
		t.Errorf("%d queued calls listed by StartTime>: they have not started", len(started))
	}
	clock.Advance(time.Second)
	started, _ = api.ListCall((&openapi.ListCallParams{}).SetStartTime(day).SetTo(deputy))
	if len(started) != 5 {
		t.Errorf("listed %d calls started today to the deputy, want 5", len(started))
	}
	ringing, _ := api.ListCall((&openapi.ListCallParams{}).SetStatus("initiated"))
	if len(ringing) != 10 {
		t.Errorf("listed %d initiated calls, want 10", len(ringing))
	}
}

func TestUpdateCall(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(says(alert)+`<Pause length="60"/>`))
	app.serve("/voice/other", twimlPage(says("Message modifié")))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{
		Dial: Fixed(time.Second),
		Numbers: map[string]Persona{
			mayor:  {Call: Answer, AnswerAfter: Fixed(5 * time.Second), Press: PressNothing},
			deputy: {Behaviour: Silent},
		},
	}})
	update := func(sid string, p *openapi.UpdateCallParams) (*openapi.ApiV2010Call, error) {
		return api.UpdateCall(sid, p)
	}

	// Canceling a ringing call.
	ringing := dial(t, api, app.callParams(deputy))
	clock.Advance(3 * time.Second)
	if _, err := update(ringing, (&openapi.UpdateCallParams{}).SetUrl(app.URL+"/voice/other")); restError(t, err).Code != CodeCallNotInProgress {
		t.Errorf("redirecting a ringing call: %v, want 21220", err)
	}
	got, err := update(ringing, (&openapi.UpdateCallParams{}).SetStatus("canceled"))
	if err != nil || str(got.Status) != "canceled" {
		t.Fatalf("cancel: %s %v", str(got.Status), err)
	}
	clock.Advance(0)
	if st := app.statuses(); st[len(st)-1] != "canceled" {
		t.Errorf("callbacks %v, want canceled last", st)
	}
	last := app.requests("/voice/status")
	if f := last[len(last)-1].Form; f.Get("SipResponseCode") != "487" || f.Get("CallDuration") != "0" {
		t.Errorf("canceled callback %v", f)
	}
	clock.Advance(2 * time.Minute)
	if c, _ := srv.Call(ringing); c.Status != "canceled" || c.HungUpBy != HungUpByAPI || len(app.requests("/voice/call")) != 0 {
		t.Errorf("canceled call went on: %s", c.Status)
	}
	if _, err := update(ringing, (&openapi.UpdateCallParams{}).SetStatus("completed")); err != nil {
		t.Errorf("completing an ended call: %v", err)
	}

	// canceled leaves a call in progress alone; a Url redirects it;
	// completed hangs it up.
	sid := dial(t, api, app.callParams(mayor))
	clock.Advance(7*time.Second + time.Second)
	if got, err := update(sid, (&openapi.UpdateCallParams{}).SetStatus("canceled")); err != nil || str(got.Status) != "in-progress" {
		t.Errorf("canceling a call in progress: %s %v", str(got.Status), err)
	}
	if _, err := update(sid, (&openapi.UpdateCallParams{}).SetUrl(app.URL+"/voice/other").SetMethod("GET")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(0)
	other := app.requests("/voice/other")
	if len(other) != 1 || other[0].Method != "GET" || !other[0].Valid {
		t.Fatalf("update with Url: %+v", other)
	}
	clock.Advance(speakingTime("Message modifié") / 2)
	if _, err := update(sid, (&openapi.UpdateCallParams{}).SetTwiml(`<Response><Say>Inline</Say><Pause length="600"/></Response>`)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	got, err = update(sid, (&openapi.UpdateCallParams{}).SetStatus("completed"))
	if err != nil || str(got.Status) != "completed" {
		t.Fatalf("complete: %s %v", str(got.Status), err)
	}
	clock.Advance(0)
	c, _ := srv.Call(sid)
	if c.HungUpBy != HungUpByAPI || c.Transcript() != alert+" …\nMessage modifié …\nInline" ||
		len(c.Fetches) != 3 || c.Fetches[1].Reason != "update" || c.Fetches[2].URL != "" {
		t.Errorf("hung up by %q; heard:\n%s\nfetches %+v", c.HungUpBy, c.Transcript(), c.Fetches)
	}
	if st := app.statuses(); st[len(st)-1] != "completed" {
		t.Errorf("callbacks %v", st)
	}
	if n := clock.Pending(); n != 0 {
		t.Errorf("%d timers left", n)
	}

	for _, bad := range []struct {
		sid  string
		form string
		code int
	}{
		{sid, "Status=ringing", 20001},
		{sid, "Url=nope", 21205},
		{sid, "Method=PUT&Url=http%3A%2F%2Fx%2F", 20001},
		{"CA00000000000000000000000000000000", "Status=canceled", 20404},
	} {
		resp, body := do(t, "POST", srv.URL()+"/2010-04-01/Accounts/"+testSID+"/Calls/"+bad.sid+".json", "application/x-www-form-urlencoded", bad.form)
		var e apiError
		if err := json.Unmarshal(body, &e); err != nil || e.Code != bad.code || resp.StatusCode != e.Status {
			t.Errorf("%s: %d %s, want code %d", bad.form, resp.StatusCode, body, bad.code)
		}
	}
}
