package twiliosim

import (
	"strconv"
	"testing"
	"time"
)

// A help line queues its callers: the wait URL says each one's place and
// is asked again when its document ends. Three callers ring one after the
// other; an agent dials the queue and takes the first; the third loses
// patience and hangs up, the Enqueue's action being told "hangup" with
// the time waited; the second is taken by a second agent; each
// conversation ends with the caller hanging up, and the action is told
// "bridged". The queue's record says the same.
func TestQueueCallersAgentsAndPatience(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{
		Numbers: map[string]Persona{"+33639981001": {Call: Answer, AnswerAfter: Fixed(5 * time.Second)}},
		Talk:    Fixed(time.Minute),
	}})
	app := newVoiceApp(t)
	app.serve("/line", twimlPage(`<Enqueue waitUrl="/wait" action="/left">aide</Enqueue>`))
	app.serveFunc("/wait", func(r appRequest) appPage {
		return twimlPage(says("Place "+r.Form.Get("QueuePosition")+".") + `<Pause length="20"/>`)
	})
	app.serve("/left", twimlPage(`<Hangup/>`))
	app.serve("/agent", twimlPage(`<Dial timeout="20"><Queue>aide</Queue></Dial>`+says("Fin.")))

	var callers []string
	for i, patience := range []time.Duration{0, 0, 30 * time.Second} {
		sid, err := srv.Arrive(Caller{URL: app.URL + "/line", From: "+3363998500" + strconv.Itoa(i), To: "+33261910000", Patience: patience})
		if err != nil {
			t.Fatal(err)
		}
		callers = append(callers, sid)
		clock.Advance(time.Second)
	}
	if rec, _ := srv.Queue("aide"); rec.Waiting != 3 || rec.Enqueued != 3 {
		t.Fatalf("queue after three callers: %+v", rec)
	}
	for i, sid := range callers {
		if c, _ := srv.Call(sid); !c.Heard("Place "+strconv.Itoa(i+1)+".") || c.Direction != DirectionInbound {
			t.Errorf("caller %d heard:\n%s", i+1, c.Transcript())
		}
	}
	clock.Advance(25 * time.Second) // the wait document is asked again
	if c, _ := srv.Call(callers[1]); len(app.requests("/wait")) < 6 || !c.Heard("Place 2.") {
		t.Errorf("the wait URL was asked %d times; want it asked again when its document ends", len(app.requests("/wait")))
	}

	agent := app.callParams("+33639981001").SetUrl(app.URL + "/agent")
	first := dial(t, api, agent)
	for range 10 {
		clock.Advance(10 * time.Second)
	}
	// The third caller gave up 30 s after joining; the first was taken.
	left := app.requests("/left")
	if len(left) != 2 {
		t.Fatalf("action told %d times, want the hang-up and the first conversation: %+v", len(left), left)
	}
	if f := left[0].Form; f.Get("CallSid") != callers[2] || f.Get("QueueResult") != QueueHangup || f.Get("QueueTime") != "30" || !left[0].Valid {
		t.Errorf("action of the caller who hung up: %v (signature valid %v)", f, left[0].Valid)
	}
	if f := left[1].Form; f.Get("CallSid") != callers[0] || f.Get("QueueResult") != QueueBridged {
		t.Errorf("action of the first caller: %v", f)
	}
	if c, _ := srv.Call(first); c.BridgedWith != callers[0] || !c.Ended() || !c.Heard("Fin.") {
		t.Errorf("agent's call: bridged with %q, %s, heard %q", c.BridgedWith, c.Status, c.Transcript())
	}
	dial(t, api, agent)
	for range 10 {
		clock.Advance(10 * time.Second)
	}
	rec, _ := srv.Queue("aide")
	c2, _ := srv.Call(callers[1])
	if rec.Enqueued != 3 || rec.Bridged != 2 || rec.Abandoned != 1 || rec.Waiting != 0 || rec.LongestWait != c2.QueueTime || c2.QueueTime < 60 {
		t.Errorf("queue record %+v; the second caller waited %d s", rec, c2.QueueTime)
	}
}
