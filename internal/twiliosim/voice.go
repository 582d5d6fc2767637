package twiliosim

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxFetches bounds the TwiML documents one call may ask for, so that a
// redirect loop ends.
const maxFetches = 20

// gatherRun is a <Gather> being played: its nested verbs (the prompt),
// then the wait for keys.
type gatherRun struct {
	v             *verb
	next          int    // the next nested verb
	waiting       bool   // the prompt is over (or was cut short): waiting for keys
	digits        string // keys collected
	numDigits     int    // 0: no count
	finishOnKey   string
	timeoutSecond int
	dtmf          bool // input includes dtmf
	bargeIn       bool // a key stops the prompt
	onEmpty       bool // actionOnEmptyResult
}

func newGatherRun(v *verb) *gatherRun {
	g := &gatherRun{
		v:             v,
		numDigits:     v.intAttr("numDigits", 0),
		finishOnKey:   "#",
		timeoutSecond: v.intAttr("timeout", 5),
		dtmf:          true,
		bargeIn:       !strings.EqualFold(v.attr("bargeIn"), "false"),
		onEmpty:       strings.EqualFold(v.attr("actionOnEmptyResult"), "true"),
	}
	if k, ok := v.attrs["finishOnKey"]; ok {
		g.finishOnKey = k
	}
	if in, ok := v.attrs["input"]; ok {
		g.dtmf = strings.Contains(strings.ToLower(in), "dtmf")
	}
	return g
}

// run plays the document from its next verb until something takes time,
// a document must be fetched, or the call ends. Called with s.mu held, as
// every step of this file.
func (s *Simulator) run(c *Call) action {
	r := c.run
	for r.pc < len(r.doc) {
		v := &r.doc[r.pc]
		r.pc++
		switch v.name {
		case "Say":
			if v.text == "" {
				continue
			}
			return s.say(c, v, 0, s.run)
		case "Pause":
			return s.flowWait(c, r.scaled(v.pauseLength()), s.run)
		case "Gather":
			r.gather = newGatherRun(v)
			if a, ok := s.tryPress(c); ok {
				return a
			}
			return s.runGather(c)
		case "Redirect":
			return s.fetchDoc(c, fetchRedirect, v.method(), v.text, nil, "")
		case "Hangup", "Reject":
			s.endCall(c, statusCompleted, HungUpByTwiML)
			return action{}
		case "Enqueue":
			if r.enq != nil && r.enq.inQueue {
				continue // not in a wait document
			}
			return s.enqueue(c, v)
		case "Leave":
			if r.enq == nil || !r.enq.inQueue {
				continue
			}
			s.leaveQueue(c, QueueLeave)
			return s.afterQueue(c)
		case "Dial":
			if i := slices.IndexFunc(v.children, func(n verb) bool { return n.name == "Queue" }); i >= 0 && r.enq == nil {
				return s.dialQueue(c, v, v.children[i].text)
			}
			s.log.Debug("TwiML <Dial> ignored: only a <Queue> is dialed by calls", "sid", c.SID)
		default:
			s.log.Debug("TwiML verb ignored", "sid", c.SID, "verb", v.name)
		}
	}
	if r.enq != nil && r.enq.inQueue {
		return s.wait(c) // a wait document is played again
	}
	// The end of the document hangs up.
	s.endCall(c, statusCompleted, HungUpByTwiML)
	return action{}
}

// say reads v's text (its repetition rep, then the next ones), then goes
// on with then.
func (s *Simulator) say(c *Call, v *verb, rep int, then step) action {
	r := c.run
	if rep >= v.sayLoops() {
		return then(c)
	}
	c.Said = append(c.Said, Speech{
		Text:     v.text,
		Language: v.attr("language"),
		Voice:    v.attr("voice"),
		At:       s.clock.Now().UTC(),
	})
	r.saying = len(c.Said) - 1
	return s.flowWait(c, r.scaled(speakingTime(v.text)), func(c *Call) action {
		r := c.run
		r.saying = -1
		if !r.heard {
			r.heard = true
			if r.keys != "" && r.persona.PressAfter.IsZero() {
				r.ready = true
			}
		}
		if a, ok := s.tryPress(c); ok {
			return a
		}
		return s.say(c, v, rep+1, then)
	})
}

// runGather plays the rest of the <Gather>'s prompt, then waits for keys
// for its timeout.
func (s *Simulator) runGather(c *Call) action {
	r := c.run
	g := r.gather
	for g.next < len(g.v.children) {
		v := &g.v.children[g.next]
		g.next++
		switch v.name {
		case "Say":
			if v.text == "" {
				continue
			}
			return s.say(c, v, 0, s.runGather)
		case "Pause":
			return s.flowWait(c, r.scaled(v.pauseLength()), s.runGather)
		default:
			s.log.Debug("TwiML verb in <Gather> ignored", "sid", c.SID, "verb", v.name)
		}
	}
	if !g.waiting {
		g.waiting = true
		if a, ok := s.tryPress(c); ok {
			return a
		}
	}
	return s.flowWait(c, r.scaled(secondsOf(g.timeoutSecond)), s.gatherTimedOut)
}

// tryPress makes the official press now if they are ready, have not
// pressed yet, and a <Gather> listens for keys (after its prompt when it
// has bargeIn="false").
func (s *Simulator) tryPress(c *Call) (action, bool) {
	r := c.run
	g := r.gather
	if !r.ready || r.pressed || r.keys == "" || g == nil || !g.dtmf || (!g.waiting && !g.bargeIn) {
		return action{}, false
	}
	return s.press(c), true
}

// press keys in the official's keys: the prompt stops, and the <Gather>
// ends on its finishOnKey, on its numDigits, or after its timeout
// following the last key.
func (s *Simulator) press(c *Call) action {
	r := c.run
	g := r.gather
	r.pressed = true
	s.interrupt(c)
	g.next, g.waiting = len(g.v.children), true
	c.Digits += r.keys
	s.log.Info("official presses", "sid", c.SID, "keys", len(r.keys))
	for _, k := range r.keys {
		key := string(k)
		if key == g.finishOnKey {
			return s.submit(c, key)
		}
		g.digits += key
		if g.numDigits > 0 && len(g.digits) >= g.numDigits {
			return s.submit(c, "")
		}
	}
	return s.flowWait(c, r.scaled(secondsOf(g.timeoutSecond)), s.gatherTimedOut)
}

func (s *Simulator) gatherTimedOut(c *Call) action { return s.submit(c, "") }

// submit ends the <Gather>: its keys go to its action (by default the
// document's own URL), whose answer replaces the document. With no keys
// (and no actionOnEmptyResult), or no URL to send them to (inline TwiML
// without action), the document goes on with the verb after the
// <Gather>.
func (s *Simulator) submit(c *Call, finishedOnKey string) action {
	r := c.run
	g := r.gather
	r.gather = nil
	if g.digits == "" && !g.onEmpty {
		return s.run(c)
	}
	target := strings.TrimSpace(g.v.attr("action"))
	if target == "" {
		target = r.docURL
	}
	if target == "" {
		s.log.Debug("gather without action in inline TwiML: keys not posted", "sid", c.SID)
		return s.run(c)
	}
	params := url.Values{"FinishedOnKey": {finishedOnKey}}
	if g.digits != "" {
		params.Set("Digits", g.digits)
	}
	return s.fetchDoc(c, fetchGather, g.v.method(), target, params, g.digits)
}

// fetchDoc records a request for the document at target (relative to the
// current document's URL) and returns it for drive to make.
func (s *Simulator) fetchDoc(c *Call, reason, method, target string, extra url.Values, digits string) action {
	r := c.run
	u, err := resolveURL(r.docURL, target)
	if err != nil {
		return s.failCall(c, CodeInvalidTwiMLURL, err.Error())
	}
	f := Fetch{Reason: reason, Method: method, URL: u, Digits: digits, At: s.clock.Now().UTC()}
	if r.fetches >= maxFetches && reason != fetchWait {
		f.Error = "not fetched: fetch limit"
		c.Fetches = append(c.Fetches, f)
		return s.failCall(c, 0, fmt.Sprintf("fetch limit: more than %d TwiML documents requested", maxFetches))
	}
	if reason != fetchWait {
		r.fetches++
	}
	c.Fetches = append(c.Fetches, f)
	params := s.voiceParams(c)
	for k, v := range extra {
		params[k] = v
	}
	return action{fetch: &fetchReq{index: len(c.Fetches) - 1, method: method, url: u, params: params}}
}

// voiceParams are the fields of Twilio's voice request for c.
func (s *Simulator) voiceParams(c *Call) url.Values {
	p := url.Values{
		"AccountSid": {c.AccountSID},
		"ApiVersion": {apiVersion},
		"CallSid":    {c.SID},
		"CallStatus": {c.Status},
		"Called":     {c.To},
		"Caller":     {c.From},
		"Direction":  {c.Direction},
		"From":       {c.From},
		"To":         {c.To},
	}
	if c.AnsweredBy != "" {
		p.Set("AnsweredBy", c.AnsweredBy)
	}
	return p
}

// resolveURL resolves ref against the document URL base, as Twilio does
// for action and <Redirect> URLs; the result must be absolute http(s).
func resolveURL(base, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", errors.New("empty URL")
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q", ref)
	}
	if base != "" {
		b, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("invalid document URL %q", base)
		}
		u = b.ResolveReference(u)
	}
	if !validWebhookURL(u.String()) {
		return "", fmt.Errorf("URL %q is not absolute http(s)", ref)
	}
	return u.String(), nil
}

// loadInline plays TwiML given with the call (at create or update).
func (s *Simulator) loadInline(c *Call, reason, twiml string) action {
	c.Fetches = append(c.Fetches, Fetch{Reason: reason, TwiML: twiml, At: s.clock.Now().UTC()})
	doc, err := parseTwiML([]byte(twiml))
	if err != nil {
		return s.failCall(c, CodeDocumentParse, "document parse failure: "+err.Error())
	}
	return s.load(c, doc, "")
}

// loadFetched plays a fetched document, or ends the call as Twilio does
// when it cannot.
func (s *Simulator) loadFetched(c *Call, req *fetchReq, res response, err error) action {
	if err != nil {
		return s.failCall(c, CodeHTTPRetrieval, "HTTP retrieval failure: "+err.Error())
	}
	if res.status < 200 || res.status > 299 {
		return s.failCall(c, CodeHTTPRetrieval, fmt.Sprintf("HTTP retrieval failure: answered %d", res.status))
	}
	mediaType, _, _ := mime.ParseMediaType(res.contentType)
	var doc []verb
	switch {
	case mediaType == "text/xml" || mediaType == "application/xml" || mediaType == "text/html":
		if res.truncated {
			return s.failCall(c, CodeDocumentParse, fmt.Sprintf("document parse failure: larger than %d KiB", maxTwiMLSize>>10))
		}
		if doc, err = parseTwiML(res.body); err != nil {
			return s.failCall(c, CodeDocumentParse, "document parse failure: "+err.Error())
		}
	case mediaType == "text/plain":
		// Twilio reads plain text aloud.
		doc = []verb{{name: "Say", text: normalizeSpace(string(res.body))}}
	case strings.HasPrefix(mediaType, "audio/"):
		// Twilio plays it; the simulator hears nothing.
	default:
		return s.failCall(c, CodeInvalidContentType, fmt.Sprintf("invalid Content-Type %q", res.contentType))
	}
	return s.load(c, doc, req.url)
}

func (s *Simulator) load(c *Call, doc []verb, docURL string) action {
	r := c.run
	r.doc, r.docURL, r.pc, r.gather = doc, docURL, 0, nil
	return s.run(c)
}

// failCall ends c after an error with its TwiML, as Twilio hangs up
// after "an application error has occurred".
func (s *Simulator) failCall(c *Call, code int, msg string) action {
	c.ErrorCode, c.Error = code, msg
	s.log.Warn("call TwiML error: hanging up", "sid", c.SID, "code", code)
	s.endCall(c, statusCompleted, HungUpByError)
	return action{}
}

// redirectCall makes a call in progress drop what it plays and fetch
// target (or play inline), as an update with Url or Twiml does. Called
// with s.mu held.
func (s *Simulator) redirectCall(c *Call, target, method, inline string) {
	s.interrupt(c)
	c.run.gather = nil
	s.flowWait(c, 0, func(c *Call) action {
		if inline != "" {
			return s.loadInline(c, fetchUpdate, inline)
		}
		c.run.docURL = ""
		return s.fetchDoc(c, fetchUpdate, method, target, nil, "")
	})
}

// secondsOf converts a TwiML count of seconds, bounded to an hour.
func secondsOf(n int) time.Duration {
	return time.Duration(min(n, maxPause)) * time.Second
}
