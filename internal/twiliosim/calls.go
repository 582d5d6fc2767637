package twiliosim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call statuses, as Twilio names them; "queued" and "failed" are shared
// with messages.
const (
	statusInitiated  = "initiated"
	statusRinging    = "ringing"
	statusInProgress = "in-progress"
	statusCompleted  = "completed"
	statusBusy       = "busy"
	statusNoAnswer   = "no-answer"
	statusCanceled   = "canceled"
)

// Call status callback events (StatusCallbackEvent).
const (
	eventInitiated = "initiated"
	eventRinging   = "ringing"
	eventAnswered  = "answered"
	eventCompleted = "completed"
)

var callEvents = []string{eventInitiated, eventRinging, eventAnswered, eventCompleted}

const (
	defaultCallTimeout = 60  // seconds of ringing before no-answer
	maxCallTimeout     = 600 // Twilio's ceiling
)

// Call is one outbound call as the simulator records it.
type Call struct {
	SID        string `json:"sid"`
	AccountSID string `json:"account_sid"`
	Direction  string `json:"direction"`
	From       string `json:"from"`
	To         string `json:"to"`
	Status     string `json:"status"`
	// URL and TwiML are the call's instructions as given; they are not
	// fetched nor played yet.
	URL                  string      `json:"url,omitempty"`
	TwiML                string      `json:"twiml,omitempty"`
	StatusCallback       string      `json:"status_callback,omitempty"`
	StatusCallbackEvents []string    `json:"status_callback_events,omitempty"`
	Timeout              int         `json:"timeout"`
	Behaviour            Behaviour   `json:"behaviour"`
	Outcome              CallOutcome `json:"outcome"`
	// FaultServed is the HTTP status an injected after-create fault
	// answered the create request with, 0 when the client got its 201.
	FaultServed int       `json:"fault_served,omitempty"`
	DateCreated time.Time `json:"date_created"`
	DateUpdated time.Time `json:"date_updated"`
	StartTime   time.Time `json:"start_time,omitzero"`
	EndTime     time.Time `json:"end_time,omitzero"`
	seq         int
	callbacks   int // status callbacks sent, for SequenceNumber
}

func (c *Call) clone() Call {
	out := *c
	out.StatusCallbackEvents = slices.Clone(c.StatusCallbackEvents)
	return out
}

// ended reports whether status is final.
func callEnded(status string) bool {
	switch status {
	case statusCompleted, statusBusy, statusNoAnswer, statusFailed, statusCanceled:
		return true
	}
	return false
}

// callPlan is the sequence of statuses a call goes through, fixed at
// create: each step waits its delay, sets its status and posts the
// callback when its event was asked for.
type callPlan []callStep

type callStep struct {
	after  time.Duration
	status string
}

func (s *Simulator) createCall(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeError(w, e)
		return
	}
	f := r.PostForm
	c := &Call{
		AccountSID:     s.accountSID,
		Direction:      DirectionOutbound,
		From:           f.Get("From"),
		To:             f.Get("To"),
		Status:         statusQueued,
		URL:            f.Get("Url"),
		TwiML:          f.Get("Twiml"),
		StatusCallback: f.Get("StatusCallback"),
		Timeout:        defaultCallTimeout,
	}
	e := s.checkCall(c, f)

	s.mu.Lock()
	if e != nil {
		s.stats.Rejected++
		s.mu.Unlock()
		s.log.Info("call refused", "to", mask(c.To), "code", e.Code)
		writeError(w, e)
		return
	}
	now := s.clock.Now().UTC()
	if s.maxCalls > 0 && s.activeCalls >= s.maxCalls || !s.callLimit.take(now) {
		s.stats.RateLimited++
		s.mu.Unlock()
		writeError(w, errTooManyRequests())
		return
	}
	persona := s.profile.PersonaFor(c.To)
	c.SID = newSID("CA")
	c.Behaviour = behaviourOf(persona)
	c.Outcome = callOutcome(persona)
	c.DateCreated, c.DateUpdated = now, now
	c.seq = len(s.calls)
	s.calls = append(s.calls, c)
	s.callBySID[c.SID] = c
	s.stats.Calls++
	s.activeCalls++
	plan := s.planCall(c)
	s.mu.Unlock()

	s.log.Info("call accepted", "sid", c.SID, "to", mask(c.To), "outcome", c.Outcome)
	s.runCall(c.SID, plan)

	if fault, ok := s.takeFault(ResourceCalls, true); ok {
		s.mu.Lock()
		c.FaultServed = fault.Status
		s.mu.Unlock()
		s.log.Info("fault served after create", "sid", c.SID, "status", fault.Status)
		writeError(w, errStatus(fault.Status))
		return
	}
	s.mu.Lock()
	out := callJSONOf(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// checkCall reads the optional parameters into c and returns the error
// Twilio answers a create with, if any.
func (s *Simulator) checkCall(c *Call, f url.Values) *apiError {
	switch {
	case c.To == "":
		return badRequest(CodeNoTo, "No 'To' number is specified")
	case c.From == "":
		return badRequest(CodeNoCaller, "No 'From' number is specified")
	case c.URL == "" && c.TwiML == "" && f.Get("ApplicationSid") == "":
		return badRequest(CodeInvalidURL, "Url parameter is required.")
	case c.URL != "" && !validWebhookURL(c.URL):
		return badRequest(CodeInvalidURL, "Url is not a valid URL: %s", c.URL)
	case !e164.MatchString(c.From):
		return badRequest(CodeInvalidFrom, "The 'From' number %s is not a valid phone number.", c.From)
	case len(s.numbers) > 0 && !slices.Contains(s.numbers, c.From):
		return badRequest(CodeCallerNotVerified, "The source phone number provided, %s, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio.", c.From)
	case !e164.MatchString(c.To):
		return badRequest(CodeInvalidTo, "The 'To' number %s is not a valid phone number.", c.To)
	case c.StatusCallback != "" && !validWebhookURL(c.StatusCallback):
		return badRequest(CodeInvalidCallback, "The StatusCallback URL %s is not a valid URL.", c.StatusCallback)
	}
	for _, v := range f["StatusCallbackEvent"] {
		for _, ev := range strings.Fields(v) {
			if !slices.Contains(callEvents, ev) {
				return badRequest(CodeBadRequest, "StatusCallbackEvent %q is not one of %s", ev, strings.Join(callEvents, ", "))
			}
			if !slices.Contains(c.StatusCallbackEvents, ev) {
				c.StatusCallbackEvents = append(c.StatusCallbackEvents, ev)
			}
		}
	}
	if c.StatusCallback != "" && len(c.StatusCallbackEvents) == 0 {
		// Twilio's default: only the end of the call.
		c.StatusCallbackEvents = []string{eventCompleted}
	}
	if v := f.Get("Timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest(CodeBadRequest, "Timeout must be a positive number of seconds")
		}
		c.Timeout = min(n, maxCallTimeout)
	}
	return nil
}

func callOutcome(p Persona) CallOutcome {
	switch {
	case p.Call != "":
		return p.Call
	case p.Behaviour == Invalid:
		return Failed
	default:
		return NoAnswer
	}
}

// planCall fixes the steps of c. Called with s.mu held.
//
// Answering is where voice will plug in: an "answer" outcome would go
// ringing → in-progress, fetch the TwiML from URL (or take TwiML), play it
// and send the official's digits to the Gather action, then completed.
func (s *Simulator) planCall(c *Call) callPlan {
	prof := &s.profile
	dial := prof.scale(prof.Dial.pick(c.To, "dial"))
	plan := callPlan{{dial, statusInitiated}}
	switch c.Outcome {
	case Failed:
		// Nothing to ring: the network refuses the number.
		plan = append(plan, callStep{dial, statusFailed})
	case Busy:
		plan = append(plan, callStep{dial, statusRinging}, callStep{dial, statusBusy})
	default:
		ring := prof.scale(time.Duration(c.Timeout) * time.Second)
		plan = append(plan, callStep{dial, statusRinging}, callStep{ring, statusNoAnswer})
	}
	return plan
}

// runCall plays the plan's first step, which schedules the next.
func (s *Simulator) runCall(sid string, plan callPlan) {
	if len(plan) == 0 {
		return
	}
	step := plan[0]
	s.after(step.after, func() {
		s.setCallStatus(sid, step.status)
		s.runCall(sid, plan[1:])
	})
}

// sipCodes are the SIP responses Twilio reports with a call's end.
var sipCodes = map[string]string{
	statusCompleted: "200",
	statusBusy:      "486",
	statusNoAnswer:  "487",
	statusFailed:    "404",
}

// setCallStatus records a status change and posts the callback of its
// event when the call asked for it.
func (s *Simulator) setCallStatus(sid, status string) {
	s.mu.Lock()
	c := s.callBySID[sid]
	now := s.clock.Now().UTC()
	if callEnded(status) && !callEnded(c.Status) {
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
	var params url.Values
	callback := ""
	if c.StatusCallback != "" && slices.Contains(c.StatusCallbackEvents, event) {
		callback = c.StatusCallback
		params = url.Values{
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
		if callEnded(status) {
			params.Set("CallDuration", "0")
			params.Set("Duration", "0")
			params.Set("SipResponseCode", sipCodes[status])
		}
		c.callbacks++
	}
	s.mu.Unlock()

	s.log.Debug("call status", "sid", sid, "status", status)
	if callback != "" {
		s.post("call status callback", callback, params)
	}
}

func (s *Simulator) fetchCall(w http.ResponseWriter, r *http.Request) {
	sid, ok := resourceSID(r)
	s.mu.Lock()
	c, found := s.callBySID[sid]
	var out callJSON
	if found {
		out = callJSONOf(c)
	}
	s.mu.Unlock()
	if !ok || !found {
		writeError(w, errNotFound(r.URL.Path))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listCalls serves Calls.json: newest first, filtered by To, From, Status,
// ParentCallSid and the day-granular StartTime and EndTime filters.
func (s *Simulator) listCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, e := parsePage(r, q)
	if e != nil {
		writeError(w, e)
		return
	}
	to := keepString(q, "To", &p.keep)
	from := keepString(q, "From", &p.keep)
	status := keepString(q, "Status", &p.keep)
	parent := keepString(q, "ParentCallSid", &p.keep)
	started, e := parseDayFilter(q, "StartTime", &p.keep)
	if e != nil {
		writeError(w, e)
		return
	}
	ended, e := parseDayFilter(q, "EndTime", &p.keep)
	if e != nil {
		writeError(w, e)
		return
	}

	s.mu.Lock()
	var items []*Call
	for i := len(s.calls) - 1; i >= 0; i-- {
		c := s.calls[i]
		if (to == "" || c.To == to) && (from == "" || c.From == from) &&
			(status == "" || c.Status == status) && parent == "" &&
			started.match(c.StartTime) && ended.match(c.EndTime) {
			items = append(items, c)
		}
	}
	pageItems, meta, e := paginate(p, items,
		func(c *Call) string { return c.SID },
		func(c *Call) int { return c.seq },
		func(sid string) (int, bool) {
			c, ok := s.callBySID[sid]
			if !ok {
				return 0, false
			}
			return c.seq, true
		})
	out := callList{listMeta: meta, Calls: make([]callJSON, 0, len(pageItems))}
	for _, c := range pageItems {
		out.Calls = append(out.Calls, callJSONOf(c))
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type callList struct {
	listMeta
	Calls []callJSON `json:"calls"`
}

// callJSON is the Call resource exactly as Twilio writes it, nulls
// included.
type callJSON struct {
	AccountSid      string            `json:"account_sid"`
	Annotation      *string           `json:"annotation"`
	AnsweredBy      *string           `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	CallerName      *string           `json:"caller_name"`
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	Direction       string            `json:"direction"`
	Duration        *string           `json:"duration"`
	EndTime         *string           `json:"end_time"`
	ForwardedFrom   *string           `json:"forwarded_from"`
	From            string            `json:"from"`
	FromFormatted   string            `json:"from_formatted"`
	GroupSid        *string           `json:"group_sid"`
	ParentCallSid   *string           `json:"parent_call_sid"`
	PhoneNumberSid  *string           `json:"phone_number_sid"`
	Price           *string           `json:"price"`
	PriceUnit       string            `json:"price_unit"`
	QueueTime       string            `json:"queue_time"`
	Sid             string            `json:"sid"`
	StartTime       *string           `json:"start_time"`
	Status          string            `json:"status"`
	SubresourceUris map[string]string `json:"subresource_uris"`
	To              string            `json:"to"`
	ToFormatted     string            `json:"to_formatted"`
	TrunkSid        *string           `json:"trunk_sid"`
	URI             string            `json:"uri"`
}

// callJSONOf renders c. Called with s.mu held.
func callJSONOf(c *Call) callJSON {
	base := "/" + apiVersion + "/Accounts/" + c.AccountSID + "/Calls/" + c.SID
	out := callJSON{
		AccountSid:    c.AccountSID,
		APIVersion:    apiVersion,
		DateCreated:   twilioTime(c.DateCreated),
		DateUpdated:   twilioTime(c.DateUpdated),
		Direction:     c.Direction,
		EndTime:       optionalTime(c.EndTime),
		From:          c.From,
		FromFormatted: c.From,
		PriceUnit:     "USD",
		QueueTime:     "0",
		Sid:           c.SID,
		StartTime:     optionalTime(c.StartTime),
		Status:        c.Status,
		SubresourceUris: map[string]string{
			"notifications": base + "/Notifications.json",
			"recordings":    base + "/Recordings.json",
			"events":        base + "/Events.json",
		},
		To:          c.To,
		ToFormatted: c.To,
		URI:         base + ".json",
	}
	if callEnded(c.Status) {
		d := "0"
		out.Duration = &d
	}
	return out
}
