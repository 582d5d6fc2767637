package twiliosim

import (
	"net/url"
	"slices"
	"strconv"
	"time"
)

// A call's progress is a chain of steps. Each step runs with s.mu held,
// changes the call, and either schedules the next step on the clock
// (flowWait) or asks for a TwiML document to be fetched once the lock is
// released (drive does it, then loads the document and carries on).
// Every scheduled step carries the call's token: anything that changes
// the course of the call (a key press, a hang-up, an update) bumps the
// token, and the steps scheduled before then do nothing when they fire.
// A call has at most one pending step of its flow, and a few side timers
// (the official pressing, hanging up, the time limit), all stopped when
// the call ends.

// step is one step of a call, run with s.mu held.
type step func(c *Call) action

// action is what a step leaves to do once s.mu is released: nothing, or
// fetch a TwiML document and load it.
type action struct {
	fetch *fetchReq
}

// fetchReq is a TwiML document to request; index is its entry in
// Call.Fetches.
type fetchReq struct {
	index  int
	method string
	url    string
	params url.Values
}

// webhookReq is a status callback waiting to be posted.
type webhookReq struct {
	method, url string
	params      url.Values
}

// callRun is a call's progress, guarded by s.mu.
type callRun struct {
	persona Persona
	keys    string  // what the official presses; "" for nothing
	scale   float64 // the profile's DelayScale when the call was created
	dial    time.Duration

	tok        uint64   // see above
	flowTimer  uint64   // the pending step of the flow
	sideTimers []uint64 // pressing, hanging up, time limit
	outbox     []webhookReq

	doc     []verb // the TwiML document being played
	docURL  string // where it came from: "" for inline TwiML
	pc      int    // the next verb of doc
	gather  *gatherRun
	saying  int // index in Call.Said of the <Say> being played, -1 when none
	fetches int
	heard   bool // a first <Say> was heard in full
	// The call's part in a queue (queue.go): a caller's stay, how long
	// they wait before hanging up, an agent's <Dial><Queue>.
	enq      *enqueueRun
	patience time.Duration
	dialing  *verb
	ready    bool // the official is ready to press
	pressed  bool
}

func (r *callRun) scaled(d time.Duration) time.Duration { return scaleDelay(d, r.scale) }

func (r *callRun) takeOutbox() []webhookReq {
	out := r.outbox
	r.outbox = nil
	return out
}

// Answering machine detection timings: how long after pick-up Twilio
// knows who answered and fetches the TwiML.
const (
	amdHumanDelay      = 2500 * time.Millisecond
	amdMachineDelay    = 4 * time.Second
	amdMessageEndDelay = 12 * time.Second // the greeting, then the beep
)

// startCall sets c on its way: queued → initiated → ringing → …. Called
// with s.mu held.
func (s *Simulator) startCall(c *Call, p Persona) {
	r := &callRun{persona: p, keys: p.keys(), scale: s.profile.DelayScale, saying: -1}
	r.dial = r.scaled(s.profile.Dial.pick(c.To, "dial"))
	c.run = r
	s.flowWait(c, r.dial, s.callInitiated)
}

func (s *Simulator) callInitiated(c *Call) action {
	s.setCallStatus(c, statusInitiated)
	if c.Outcome == Failed {
		// Nothing to ring: the network refuses the number.
		return s.flowWait(c, c.run.dial, s.endStep(statusFailed))
	}
	return s.flowWait(c, c.run.dial, s.callRinging)
}

func (s *Simulator) callRinging(c *Call) action {
	r := c.run
	s.setCallStatus(c, statusRinging)
	ring := r.scaled(time.Duration(c.Timeout) * time.Second)
	switch c.Outcome {
	case Busy:
		return s.flowWait(c, r.dial, s.endStep(statusBusy))
	case Answer, Voicemail:
		if pickUp := r.scaled(r.persona.AnswerAfter.pick(c.To, "answer")); pickUp < ring {
			return s.flowWait(c, pickUp, s.callAnswered)
		}
	}
	return s.flowWait(c, ring, s.endStep(statusNoAnswer))
}

func (s *Simulator) endStep(status string) step {
	return func(c *Call) action {
		s.endCall(c, status, "")
		return action{}
	}
}

// callAnswered picks up: the call is in progress, the side timers start,
// and the TwiML is fetched (after answering machine detection if asked).
func (s *Simulator) callAnswered(c *Call) action {
	r := c.run
	c.AnsweredAt = s.clock.Now().UTC()
	c.Answerer = AnswererHuman
	if c.Outcome == Voicemail {
		c.Answerer = AnswererVoicemail
	}
	s.setCallStatus(c, statusInProgress)
	s.sideTimer(c, r.scaled(time.Duration(c.TimeLimit)*time.Second), func(c *Call) action {
		s.endCall(c, statusCompleted, HungUpByTimeLimit)
		return action{}
	})
	if !r.persona.HangUpAfter.IsZero() {
		s.sideTimer(c, r.scaled(r.persona.HangUpAfter.pick(c.To, "hang-up")), func(c *Call) action {
			s.log.Info("callee hangs up", "sid", c.SID)
			s.endCall(c, statusCompleted, HungUpByCallee)
			return action{}
		})
	}
	if r.keys != "" && !r.persona.PressAfter.IsZero() {
		s.sideTimer(c, r.scaled(r.persona.PressAfter.pick(c.To, "press")), func(c *Call) action {
			c.run.ready = true
			a, _ := s.tryPress(c)
			return a
		})
	}
	if c.MachineDetection == "" {
		return s.answerTwiML(c)
	}
	d, by := amdHumanDelay, "human"
	switch {
	case c.Outcome == Voicemail && c.MachineDetection == amdDetectMessageEnd:
		d, by = amdMessageEndDelay, "machine_end_beep"
	case c.Outcome == Voicemail:
		d, by = amdMachineDelay, "machine_start"
	}
	return s.flowWait(c, r.scaled(d), func(c *Call) action {
		c.AnsweredBy = by
		return s.answerTwiML(c)
	})
}

// answerTwiML plays the call's inline TwiML or fetches its Url.
func (s *Simulator) answerTwiML(c *Call) action {
	switch {
	case c.TwiML != "":
		return s.loadInline(c, fetchAnswer, c.TwiML)
	case c.URL != "":
		return s.fetchDoc(c, fetchAnswer, c.Method, c.URL, nil, "")
	default:
		return s.failCall(c, CodeInvalidTwiMLURL, "no Url nor Twiml: applications (ApplicationSid) are not simulated")
	}
}

// flowWait schedules next after d as the call's only pending flow step,
// dropping the one pending, if any. Called with s.mu held.
func (s *Simulator) flowWait(c *Call, d time.Duration, next step) action {
	r := c.run
	s.stopTimer(r.flowTimer)
	r.tok++
	tok, sid := r.tok, c.SID
	r.flowTimer = s.afterLocked(d, func() { s.drive(sid, tok, next) })
	return action{}
}

// interrupt stops the flow where it stands: the pending step is dropped
// and the <Say> being played, if any, is cut short. Called with s.mu
// held.
func (s *Simulator) interrupt(c *Call) {
	r := c.run
	s.stopTimer(r.flowTimer)
	r.flowTimer = 0
	r.tok++
	if r.saying >= 0 {
		c.Said[r.saying].Interrupted = true
		r.saying = -1
	}
}

// sideTimer runs next after d unless the call has ended by then. Called
// with s.mu held.
func (s *Simulator) sideTimer(c *Call, d time.Duration, next step) {
	sid := c.SID
	if id := s.afterLocked(d, func() { s.drive(sid, 0, next) }); id != 0 {
		c.run.sideTimers = append(c.run.sideTimers, id)
	}
}

// drive runs next on the call sid, unless the call has ended or, for a
// flow step (tok != 0), moved on since next was scheduled. It then
// fetches and loads the documents the steps ask for, and posts the status
// callbacks they produced.
func (s *Simulator) drive(sid string, tok uint64, next step) {
	s.mu.Lock()
	c := s.callBySID[sid]
	if c == nil || c.run == nil || (tok != 0 && c.run.tok != tok) || callEnded(c.Status) {
		s.mu.Unlock()
		return
	}
	a := next(c)
	for a.fetch != nil {
		req := a.fetch
		tok := c.run.tok
		posts := c.run.takeOutbox()
		s.mu.Unlock()
		s.postAll(posts)
		res, err := s.send(req.method, req.url, req.params, maxTwiMLSize)
		s.mu.Lock()
		s.stats.TwiMLFetches++
		if err != nil || res.status < 200 || res.status > 299 {
			s.stats.TwiMLFailures++
		}
		f := &c.Fetches[req.index]
		f.Status, f.TwiML = res.status, string(res.body)
		if err != nil {
			f.Error = err.Error()
		}
		if c.run.tok != tok || callEnded(c.Status) {
			break // the call moved on while the document was on its way
		}
		a = s.loadFetched(c, req, res, err)
	}
	posts := c.run.takeOutbox()
	s.mu.Unlock()
	s.postAll(posts)
}

// flushCall posts the status callbacks waiting in the call's outbox.
func (s *Simulator) flushCall(sid string) {
	s.mu.Lock()
	var posts []webhookReq
	if c := s.callBySID[sid]; c != nil && c.run != nil {
		posts = c.run.takeOutbox()
	}
	s.mu.Unlock()
	s.postAll(posts)
}

func (s *Simulator) postAll(posts []webhookReq) {
	for _, p := range posts {
		s.notify("call status callback", p.method, p.url, p.params)
	}
}

// endCall ends c with a final status, if it has not ended yet: every
// pending step is dropped and the completed callback queued. by says who
// hung up a call that was picked up. Called with s.mu held.
func (s *Simulator) endCall(c *Call, status, by string) {
	if callEnded(c.Status) {
		return
	}
	r := c.run
	s.queueEnded(c)
	s.interrupt(c)
	for _, id := range r.sideTimers {
		s.stopTimer(id)
	}
	r.sideTimers, r.gather, r.doc = nil, nil, nil
	c.HungUpBy = by
	if !c.AnsweredAt.IsZero() {
		d := s.clock.Now().Sub(c.AnsweredAt)
		c.Duration = int((d + time.Second - 1) / time.Second)
	}
	s.setCallStatus(c, status)
	s.log.Info("call ended", "sid", c.SID, "status", status, "hung_up_by", by, "digits", c.Digits != "")
}

// sipCodes are the SIP responses Twilio reports with a call's end.
var sipCodes = map[string]string{
	statusCompleted: "200",
	statusBusy:      "486",
	statusNoAnswer:  "487",
	statusCanceled:  "487",
	statusFailed:    "404",
}

// setCallStatus records a status change and queues the callback of its
// event when the call asked for it. Called with s.mu held.
func (s *Simulator) setCallStatus(c *Call, status string) {
	now := s.clock.Now().UTC()
	if callEnded(status) && !callEnded(c.Status) && c.Direction != DirectionInbound {
		s.activeCalls--
	}
	c.Status, c.DateUpdated = status, now
	if status == statusInitiated {
		c.StartTime = now
	}
	event := status
	switch {
	case status == statusInProgress:
		event = eventAnswered
	case callEnded(status):
		event = eventCompleted
		c.EndTime = now
	}
	s.log.Debug("call status", "sid", c.SID, "status", status)
	if c.StatusCallback == "" || !slices.Contains(c.StatusCallbackEvents, event) {
		return
	}
	params := url.Values{
		"AccountSid":     {c.AccountSID},
		"ApiVersion":     {apiVersion},
		"CallSid":        {c.SID},
		"CallStatus":     {status},
		"CallbackSource": {"call-progress-events"},
		"Called":         {c.To},
		"Caller":         {c.From},
		"Direction":      {c.Direction},
		"From":           {c.From},
		"SequenceNumber": {strconv.Itoa(c.callbacks)},
		"Timestamp":      {twilioTime(now)},
		"To":             {c.To},
	}
	if c.AnsweredBy != "" {
		params.Set("AnsweredBy", c.AnsweredBy)
	}
	if callEnded(status) {
		params.Set("CallDuration", strconv.Itoa(c.Duration))
		params.Set("Duration", strconv.Itoa((c.Duration+59)/60)) // billed minutes
		params.Set("SipResponseCode", sipCodes[status])
	}
	c.callbacks++
	c.run.outbox = append(c.run.outbox, webhookReq{method: c.StatusCallbackMethod, url: c.StatusCallback, params: params})
}
