package twiliosim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	defaultCallTimeout = 60    // seconds of ringing before no-answer
	maxCallTimeout     = 600   // Twilio's ceiling
	defaultTimeLimit   = 14400 // seconds a call may last: Twilio's 4 hours
	maxTimeLimit       = 86400
)

// Answering machine detection (MachineDetection), as Twilio spells it.
const (
	amdEnable           = "Enable"
	amdDetectMessageEnd = "DetectMessageEnd"
)

func (s *Simulator) createCall(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeError(w, e)
		return
	}
	f := r.PostForm
	c := &Call{
		AccountSID:           s.accountSID,
		Direction:            DirectionOutbound,
		From:                 f.Get("From"),
		To:                   f.Get("To"),
		Status:               statusQueued,
		URL:                  f.Get("Url"),
		TwiML:                f.Get("Twiml"),
		StatusCallback:       f.Get("StatusCallback"),
		MachineDetection:     f.Get("MachineDetection"),
		Timeout:              defaultCallTimeout,
		TimeLimit:            defaultTimeLimit,
		Method:               http.MethodPost,
		StatusCallbackMethod: http.MethodPost,
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
	s.startCall(c, persona)
	s.mu.Unlock()

	s.log.Info("call accepted", "sid", c.SID, "to", mask(c.To), "outcome", c.Outcome)

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
	case c.MachineDetection != "" && c.MachineDetection != amdEnable && c.MachineDetection != amdDetectMessageEnd:
		return badRequest(CodeBadRequest, "MachineDetection must be Enable or DetectMessageEnd")
	}
	var e *apiError
	if c.Method, e = httpMethod(f, "Method"); e != nil {
		return e
	}
	if c.StatusCallbackMethod, e = httpMethod(f, "StatusCallbackMethod"); e != nil {
		return e
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
	if v := f.Get("TimeLimit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTimeLimit {
			return badRequest(CodeBadRequest, "TimeLimit must be a number of seconds between 1 and %d", maxTimeLimit)
		}
		c.TimeLimit = n
	}
	return nil
}

// httpMethod reads a GET-or-POST parameter, POST when absent.
func httpMethod(f url.Values, key string) (string, *apiError) {
	switch v := strings.ToUpper(f.Get(key)); v {
	case "":
		return http.MethodPost, nil
	case http.MethodGet, http.MethodPost:
		return v, nil
	default:
		return "", badRequest(CodeBadRequest, "%s must be GET or POST", key)
	}
}

// updateCall serves POST Calls/{Sid}.json: Status=canceled hangs up a
// call not yet picked up and leaves one in progress alone;
// Status=completed hangs up either (a call not yet picked up ends
// canceled); Url or Twiml redirects a call in progress (21220 otherwise).
// A call already ended is left as it is. StatusCallback and
// StatusCallbackMethod replace the call's.
func (s *Simulator) updateCall(w http.ResponseWriter, r *http.Request) {
	sid, ok := resourceSID(r)
	if e := parseForm(w, r); e != nil {
		writeError(w, e)
		return
	}
	f := r.PostForm
	status, target, inline := f.Get("Status"), f.Get("Url"), f.Get("Twiml")
	callback := f.Get("StatusCallback")
	switch {
	case status != "" && status != statusCanceled && status != statusCompleted:
		writeError(w, badRequest(CodeBadRequest, "Status must be canceled or completed"))
		return
	case target != "" && !validWebhookURL(target):
		writeError(w, badRequest(CodeInvalidURL, "Url is not a valid URL: %s", target))
		return
	case callback != "" && !validWebhookURL(callback):
		writeError(w, badRequest(CodeInvalidCallback, "The StatusCallback URL %s is not a valid URL.", callback))
		return
	}
	method, e := httpMethod(f, "Method")
	if e != nil {
		writeError(w, e)
		return
	}
	var callbackMethod string
	if f.Get("StatusCallbackMethod") != "" {
		if callbackMethod, e = httpMethod(f, "StatusCallbackMethod"); e != nil {
			writeError(w, e)
			return
		}
	}

	s.mu.Lock()
	c, found := s.callBySID[sid]
	if !ok || !found {
		s.mu.Unlock()
		writeError(w, errNotFound(r.URL.Path))
		return
	}
	if status == "" && (target != "" || inline != "") && c.Status != statusInProgress {
		s.mu.Unlock()
		writeError(w, badRequest(CodeCallNotInProgress, "Call is not in-progress. Cannot redirect."))
		return
	}
	if callback != "" {
		c.StatusCallback = callback
		if len(c.StatusCallbackEvents) == 0 {
			c.StatusCallbackEvents = []string{eventCompleted}
		}
	}
	if callbackMethod != "" {
		c.StatusCallbackMethod = callbackMethod
	}
	ending := false
	switch {
	case callEnded(c.Status):
	case status == statusCompleted && c.Status == statusInProgress:
		s.endCall(c, statusCompleted, HungUpByAPI)
		ending = true
	case status != "" && c.Status != statusInProgress:
		s.endCall(c, statusCanceled, HungUpByAPI)
		ending = true
	case status == "" && (target != "" || inline != ""):
		s.redirectCall(c, target, method, inline)
	}
	c.DateUpdated = s.clock.Now().UTC()
	out := callJSONOf(c)
	s.mu.Unlock()

	if ending {
		// The completed callback follows the answer, as Twilio's does.
		s.after(0, func() { s.flushCall(sid) })
	}
	s.log.Info("call updated", "sid", sid, "status", out.Status)
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) fetchCall(w http.ResponseWriter, r *http.Request) {
	fetch(s, w, r, s.callBySID, callJSONOf)
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
		AnsweredBy:    optionalString(c.AnsweredBy),
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
		d := strconv.Itoa(c.Duration)
		out.Duration = &d
	}
	return out
}
