package twiliosim

import (
	"fmt"
	"sync"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Many senders, listers and the simulator's own timers at once, on the
// wall clock with millisecond delays: run with -race.
func TestConcurrentUse(t *testing.T) {
	sms := newHook(t, testToken)
	status := newHook(t, testToken)
	srv, api := start(t, Config{
		SMSURL: sms.URL + "/sms",
		Profile: Profile{
			Delivery: Range{time.Millisecond, 3 * time.Millisecond},
			Dial:     Fixed(time.Millisecond),
			Mix: []Share{
				{Weight: 2, Persona: Persona{Behaviour: Reply, Delay: Range{time.Millisecond, 5 * time.Millisecond}}},
				{Weight: 1, Persona: Persona{Behaviour: CarrierFailure}},
				{Weight: 1, Persona: Persona{Behaviour: Silent}},
			},
			DelayScale: 1,
		},
	})
	const senders, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, senders*each*2)
	sids := make(chan string, senders*each)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				to := fmt.Sprintf("+3363998%02d%02d", g, i)
				m, err := api.CreateMessage((&openapi.CreateMessageParams{}).SetTo(to).SetFrom(testFrom).SetBody("EXERCICE").SetStatusCallback(status.URL + "/status"))
				if err != nil {
					errs <- err
					continue
				}
				sids <- str(m.Sid)
				if i%5 == 0 {
					if _, err := api.ListMessage((&openapi.ListMessageParams{}).SetTo(to).SetPageSize(2)); err != nil {
						errs <- err
					}
					if _, err := api.CreateCall((&openapi.CreateCallParams{}).SetTo(to).SetFrom(testFrom).SetTwiml(gatherTwiML).SetTimeout(1)); err != nil {
						errs <- err
					}
					_ = srv.Messages()
					_ = srv.Stats()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(sids)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for sid := range sids {
		if seen[sid] {
			t.Errorf("SID %s given twice", sid)
		}
		seen[sid] = true
	}
	if len(seen) != senders*each {
		t.Errorf("%d messages created, want %d", len(seen), senders*each)
	}
	// Every message reaches a final status and sends its two callbacks
	// (sent, then delivered or undelivered).
	for range 2 * senders * each {
		if r := status.next(t); !r.Valid {
			t.Fatalf("invalid signature on %v", r.Form)
		}
	}
	waitFor(t, "every reply", func() bool {
		st := srv.Stats()
		return st.Replies > 0 && st.Callbacks == 2*senders*each+st.Replies
	})
	for range srv.Stats().Replies {
		sms.next(t)
	}
}

// On the wall clock with millisecond delays, many officials at once
// answer, listen and press 1 (run with -race).
func TestCallsOnTheWallClock(t *testing.T) {
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(says(alert)+`<Gather numDigits="1" action="ack" timeout="5">`+says(prompt)+`</Gather>`))
	app.serve("/voice/ack", twimlPage(says(thanks)))
	srv, api := start(t, Config{Profile: Profile{
		DelayScale: 0.001, // a 6 s message takes 6 ms
		Dial:       Range{time.Second, 3 * time.Second},
		Mix: []Share{
			{Weight: 3, Persona: Persona{Call: Answer, AnswerAfter: Range{time.Second, 10 * time.Second}}},
			{Weight: 1, Persona: Persona{Call: Voicemail}},
			{Weight: 1, Persona: Persona{Call: Answer, HangUpAfter: Fixed(time.Second)}},
		},
	}})
	var sids []string
	for i := range 30 {
		sids = append(sids, dial(t, api, app.callParams(fmt.Sprintf("+336399803%02d", i))))
	}
	waitFor(t, "every call to end", func() bool {
		for _, c := range srv.Calls() {
			if !c.Ended() {
				return false
			}
		}
		return true
	})
	acks := 0
	for _, sid := range sids {
		c, _ := srv.Call(sid)
		switch {
		case c.Outcome == Answer && c.HungUpBy == HungUpByCallee:
			if c.Digits != "" {
				t.Errorf("%s pressed after hanging up", c.To)
			}
		case c.Outcome == Answer:
			acks++
			if c.Digits != "1" || !c.Heard(thanks) {
				t.Errorf("%s: digits %q, heard:\n%s", c.To, c.Digits, c.Transcript())
			}
		case c.Digits != "" || c.Answerer != AnswererVoicemail:
			t.Errorf("%s: voicemail pressed %q", c.To, c.Digits)
		}
	}
	if acks == 0 || len(app.requests("/voice/ack")) != acks {
		t.Errorf("%d acknowledged calls, %d action requests", acks, len(app.requests("/voice/ack")))
	}
	for _, r := range app.requests("/voice/ack") {
		if !r.Valid {
			t.Errorf("action request with a bad signature: %v", r.Form)
		}
	}
}
