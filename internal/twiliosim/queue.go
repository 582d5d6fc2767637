package twiliosim

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Call queues, as Twilio runs them. A call that plays <Enqueue>name</…>
// joins the queue of that name (created on demand) and waits: Twilio
// fetches the Enqueue's waitUrl with the caller's QueuePosition, plays
// it, and fetches it again each time it ends. A call that plays
// <Dial><Queue>name</Queue></Dial> (an agent) takes the first caller of
// the queue, or waits for one until the Dial's timeout. Caller and agent
// talk for the profile's Talk, then the caller hangs up. The Enqueue's
// action is told how the caller left: bridged (after the conversation),
// hangup (they hung up while waiting), leave (a <Leave> in the wait
// document). Callers placed by Arrive hang up after their patience if
// nobody took them.

// Queue results, as Twilio's QueueResult says them.
const (
	QueueBridged = "bridged"
	QueueHangup  = "hangup"
	QueueLeave   = "leave"
)

// HungUpByCaller: a caller placed by Arrive hung up (after their patience
// in a queue, or at the end of a conversation).
const HungUpByCaller = "caller"

// fetchWait and fetchEnqueueAction are the Fetch reasons of a queue's
// wait document and of an Enqueue's action.
const (
	fetchWait          = "wait"
	fetchEnqueueAction = "enqueue-action"
)

// defaultTalk is how long a caller and an agent talk when the profile
// says nothing.
const defaultTalk = 90 * time.Second

// QueueRecord is the simulator's own record of one queue: what happened
// to its callers, as Twilio would report it.
type QueueRecord struct {
	Name string `json:"name"`
	SID  string `json:"sid"`
	// Enqueued counts the callers who joined; Waiting those in it now.
	Enqueued int `json:"enqueued"`
	Waiting  int `json:"waiting"`
	// Bridged counts those an agent took; Abandoned those who hung up
	// while waiting; Left those who left by a <Leave>.
	Bridged   int `json:"bridged"`
	Abandoned int `json:"abandoned"`
	Left      int `json:"left"`
	// LongestWait is the longest QueueTime of a caller who left, in whole
	// seconds as Twilio reports it.
	LongestWait int `json:"longest_wait"`
	// Positions are the QueuePosition values told to the wait URL, in
	// order.
	Positions []int `json:"positions,omitempty"`
}

// queueRun is a queue as it runs, guarded by s.mu.
type queueRun struct {
	rec     QueueRecord
	callers []string // SIDs, first in line first
	agents  []string // SIDs of agents waiting on the empty queue
	waited  time.Duration
	left    int
}

// enqueueRun is a caller's stay in a queue.
type enqueueRun struct {
	q         *queueRun
	v         *verb
	entered   time.Time
	waitURL   string
	inQueue   bool
	result    string
	seconds   int
	rest      []verb // the document after the <Enqueue>, and its URL
	restPC    int
	restURL   string
	bridgedTo string // the agent's SID
	told      bool   // the action was told of the bridge
}

// Caller is an inbound call placed by Arrive.
type Caller struct {
	// URL is the voice webhook of the number called (POST).
	URL  string `json:"url"`
	From string `json:"from"`
	To   string `json:"to"`
	// Patience is how long the caller waits in a queue before hanging up;
	// zero: until someone takes them.
	Patience time.Duration `json:"patience"`
}

func (s *Simulator) queueLocked(name string) *queueRun {
	if s.queues == nil {
		s.queues = map[string]*queueRun{}
	}
	q := s.queues[name]
	if q == nil {
		q = &queueRun{rec: QueueRecord{Name: name, SID: newSID("QU")}}
		s.queues[name] = q
	}
	return q
}

// Queue returns the record of the queue name; false if no call joined or
// dialed it.
func (s *Simulator) Queue(name string) (QueueRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return QueueRecord{}, false
	}
	rec := q.rec
	rec.Waiting = len(q.callers)
	rec.Positions = slices.Clone(q.rec.Positions)
	return rec, true
}

// Arrive places an inbound call to a voice line: Twilio posts the call to
// c.URL at once and plays what it answers, on the simulator's clock. It
// returns the call's SID; the call is then in Calls like any other.
func (s *Simulator) Arrive(c Caller) (string, error) {
	if !validWebhookURL(c.URL) {
		return "", fmt.Errorf("voice line URL %q is not absolute http(s)", c.URL)
	}
	if !e164.MatchString(c.From) || !e164.MatchString(c.To) {
		return "", errors.New("from and to must be E.164 numbers")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("simulator closed")
	}
	now := s.clock.Now().UTC()
	call := &Call{SID: newSID("CA"), AccountSID: s.accountSID, Direction: DirectionInbound, From: c.From, To: c.To,
		Status: statusInProgress, URL: c.URL, Method: "POST", Timeout: defaultCallTimeout, TimeLimit: defaultTimeLimit,
		DateCreated: now, DateUpdated: now, StartTime: now, AnsweredAt: now, Answerer: AnswererHuman}
	call.seq = len(s.calls)
	s.calls = append(s.calls, call)
	s.callBySID[call.SID] = call
	s.stats.CallsIn++
	call.run = &callRun{scale: s.profile.DelayScale, saying: -1, patience: c.Patience}
	s.flowWait(call, 0, func(c *Call) action {
		return s.fetchDoc(c, fetchAnswer, c.Method, c.URL, url.Values{"CallStatus": {"ringing"}}, "")
	})
	return call.SID, nil
}

// Arrivals places count inbound calls, one every `every` (scaled as every
// delay), the first at once; each caller comes from their own number.
func (s *Simulator) Arrivals(c Caller, count int, every time.Duration) error {
	if count <= 0 || count > 10000 || every < 0 {
		return errors.New("count must be 1 to 10000, every 0 or more")
	}
	if !validWebhookURL(c.URL) || !e164.MatchString(c.To) {
		return errors.New("url must be absolute http(s), to an E.164 number")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	step := scaleDelay(every, s.profile.DelayScale)
	for i := range count {
		s.arrivals++
		caller := c
		// 06 39 98 50 00 to 79 99, in ARCEP's fiction range.
		caller.From = fmt.Sprintf("+3363998%04d", 5000+s.arrivals%3000)
		s.afterLocked(time.Duration(i)*step, func() {
			if _, err := s.Arrive(caller); err != nil {
				s.log.Warn("caller not placed", "err", err)
			}
		})
	}
	return nil
}

// enqueue puts c in the queue named by v. Called with s.mu held, as
// every step of this file.
func (s *Simulator) enqueue(c *Call, v *verb) action {
	r := c.run
	q := s.queueLocked(v.text)
	now := s.clock.Now()
	e := &enqueueRun{q: q, v: v, entered: now, inQueue: true, rest: r.doc, restPC: r.pc, restURL: r.docURL}
	if w := v.attr("waitUrl"); w != "" {
		u, err := resolveURL(r.docURL, w)
		if err != nil {
			return s.failCall(c, CodeInvalidTwiMLURL, err.Error())
		}
		e.waitURL = u
	}
	r.enq = e
	q.callers = append(q.callers, c.SID)
	q.rec.Enqueued++
	s.log.Info("caller enqueued", "sid", c.SID, "queue", q.rec.Name, "position", len(q.callers))
	if r.patience > 0 {
		s.sideTimer(c, r.scaled(r.patience), func(c *Call) action {
			if c.run.enq == nil || !c.run.enq.inQueue {
				return action{}
			}
			s.log.Info("caller hangs up while waiting", "sid", c.SID)
			s.endCall(c, statusCompleted, HungUpByCaller)
			return action{}
		})
	}
	if len(q.agents) > 0 {
		agent := s.callBySID[q.agents[0]]
		q.agents = q.agents[1:]
		if agent != nil && !callEnded(agent.Status) {
			s.bridge(agent, q)
			return action{}
		}
	}
	return s.wait(c)
}

// wait fetches the caller's wait document, or holds them in silence (the
// default music) when the Enqueue has no waitUrl.
func (s *Simulator) wait(c *Call) action {
	e := c.run.enq
	if e.waitURL == "" {
		s.interrupt(c)
		return action{}
	}
	pos := slices.Index(e.q.callers, c.SID) + 1
	e.q.rec.Positions = append(e.q.rec.Positions, pos)
	params := url.Values{
		"QueuePosition":    {strconv.Itoa(pos)},
		"QueueSid":         {e.q.rec.SID},
		"QueueTime":        {strconv.Itoa(int(s.clock.Now().Sub(e.entered) / time.Second))},
		"AvgQueueTime":     {strconv.Itoa(e.q.avg())},
		"CurrentQueueSize": {strconv.Itoa(len(e.q.callers))},
		"MaxQueueSize":     {"1000"},
	}
	return s.fetchDoc(c, fetchWait, e.v.attrOr("waitUrlMethod", "POST"), e.waitURL, params, "")
}

func (q *queueRun) avg() int {
	if q.left == 0 {
		return 0
	}
	return int(q.waited / time.Duration(q.left) / time.Second)
}

func (v *verb) attrOr(name, def string) string {
	if a := v.attrs[name]; a != "" {
		return a
	}
	return def
}

// leaveQueue takes a caller out of their queue with result, and records
// it.
func (s *Simulator) leaveQueue(c *Call, result string) {
	e := c.run.enq
	if e == nil || !e.inQueue {
		return
	}
	q := e.q
	e.inQueue, e.result = false, result
	waited := s.clock.Now().Sub(e.entered)
	e.seconds = int(waited / time.Second)
	q.callers = slices.DeleteFunc(q.callers, func(sid string) bool { return sid == c.SID })
	q.waited += waited
	q.left++
	q.rec.LongestWait = max(q.rec.LongestWait, e.seconds)
	switch result {
	case QueueBridged:
		q.rec.Bridged++
	case QueueHangup:
		q.rec.Abandoned++
	default:
		q.rec.Left++
	}
	c.QueueResult, c.QueueTime = result, e.seconds
	s.log.Info("caller left the queue", "sid", c.SID, "queue", q.rec.Name, "result", result, "waited", e.seconds)
}

// enqueueActionParams are what the Enqueue's action is told.
func (s *Simulator) enqueueActionParams(c *Call) url.Values {
	e := c.run.enq
	p := s.voiceParams(c)
	p.Set("QueueResult", e.result)
	p.Set("QueueSid", e.q.rec.SID)
	p.Set("QueueTime", strconv.Itoa(e.seconds))
	return p
}

// afterQueue goes on with a caller who left the queue while still on the
// line (<Leave>): the Enqueue's action, or the rest of the document.
func (s *Simulator) afterQueue(c *Call) action {
	r, e := c.run, c.run.enq
	if a := e.v.attr("action"); a != "" {
		u, err := resolveURL(e.restURL, a)
		if err != nil {
			return s.failCall(c, CodeInvalidTwiMLURL, err.Error())
		}
		params := s.enqueueActionParams(c)
		return s.fetchDoc(c, fetchEnqueueAction, e.v.method(), u, params, "")
	}
	r.doc, r.pc, r.docURL = e.rest, e.restPC, e.restURL
	return s.run(c)
}

// postEnqueueAction tells the Enqueue's action how a caller who is no
// longer on the line left the queue. Called with s.mu held.
func (s *Simulator) postEnqueueAction(c *Call) {
	e := c.run.enq
	a := e.v.attr("action")
	if a == "" {
		return
	}
	u, err := resolveURL(e.restURL, a)
	if err != nil {
		return
	}
	c.run.outbox = append(c.run.outbox, webhookReq{method: e.v.method(), url: u, params: s.enqueueActionParams(c)})
}

// dialQueue plays a <Dial><Queue>: the agent takes the first caller, or
// waits for one until the Dial's timeout, then goes on with the document.
func (s *Simulator) dialQueue(c *Call, v *verb, name string) action {
	q := s.queueLocked(name)
	c.run.dialing = v
	if len(q.callers) > 0 {
		s.bridge(c, q)
		return action{}
	}
	q.agents = append(q.agents, c.SID)
	timeout := time.Duration(v.intAttr("timeout", 30)) * time.Second
	return s.flowWait(c, c.run.scaled(timeout), func(c *Call) action {
		q.agents = slices.DeleteFunc(q.agents, func(sid string) bool { return sid == c.SID })
		return s.dialEnded(c, statusNoAnswer, 0)
	})
}

// bridge connects an agent with the first caller of q: they talk for the
// profile's Talk, then the caller hangs up.
func (s *Simulator) bridge(agent *Call, q *queueRun) {
	caller := s.callBySID[q.callers[0]]
	s.leaveQueue(caller, QueueBridged)
	s.interrupt(caller)
	caller.run.enq.bridgedTo = agent.SID
	caller.BridgedWith, agent.BridgedWith = agent.SID, caller.SID
	talk := s.profile.Talk.pick(caller.From, "talk")
	if s.profile.Talk.IsZero() {
		talk = defaultTalk
	}
	talk = agent.run.scaled(talk)
	start := s.clock.Now()
	s.log.Info("caller bridged", "caller", caller.SID, "agent", agent.SID, "queue", q.rec.Name)
	s.flowWait(agent, talk, func(a *Call) action {
		if c := s.callBySID[a.BridgedWith]; c != nil && !callEnded(c.Status) {
			s.endCall(c, statusCompleted, HungUpByCaller)
			s.flushLater(c)
		}
		return s.dialEnded(a, statusCompleted, int((s.clock.Now().Sub(start)+time.Second-1)/time.Second))
	})
}

// flushLater posts the caller's waiting callbacks (the Enqueue's action)
// once the current step is done.
func (s *Simulator) flushLater(c *Call) {
	sid := c.SID
	s.afterLocked(0, func() { s.flushCall(sid) })
}

// dialEnded ends an agent's <Dial><Queue>: its action is told
// DialCallStatus, or the document goes on.
func (s *Simulator) dialEnded(c *Call, status string, seconds int) action {
	v := c.run.dialing
	c.run.dialing = nil
	if v == nil {
		return s.run(c)
	}
	if a := v.attr("action"); a != "" {
		params := url.Values{"DialCallStatus": {status}, "DialCallDuration": {strconv.Itoa(seconds)}}
		return s.fetchDoc(c, fetchRedirect, v.method(), a, params, "")
	}
	return s.run(c)
}

// queueEnded is told by endCall that c ends: a caller waiting leaves the
// queue (hangup) and its action is told; an agent waiting for a caller
// stops waiting; a conversation ends on both sides. Called with s.mu held.
func (s *Simulator) queueEnded(c *Call) {
	r := c.run
	if r.enq != nil && r.enq.inQueue {
		s.leaveQueue(c, QueueHangup)
		s.postEnqueueAction(c)
		return
	}
	if r.enq != nil && r.enq.result == QueueBridged && !r.enq.told {
		r.enq.told = true
		s.postEnqueueAction(c)
	}
	if r.dialing != nil {
		for _, q := range s.queues {
			q.agents = slices.DeleteFunc(q.agents, func(sid string) bool { return sid == c.SID })
		}
		if other := s.callBySID[c.BridgedWith]; other != nil && !callEnded(other.Status) && other.run.enq != nil {
			s.endCall(other, statusCompleted, HungUpByCaller)
			s.flushLater(other)
		}
	}
}
