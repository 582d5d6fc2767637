package twiliosim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PublicCall is what a caller of a voice line heard (CallIn).
type PublicCall struct {
	SID string `json:"sid"`
	// Said is every <Say> the caller heard, in order.
	Said []string `json:"said"`
	// Rung are the numbers a <Dial> rang at once; AnsweredBy the one that
	// picked up first, "" when nobody did before the Dial's timeout.
	Rung       []string `json:"rung,omitempty"`
	AnsweredBy string   `json:"answered_by,omitempty"`
	// DialStatus is what the Dial's action was told: completed or
	// no-answer; "" without a Dial.
	DialStatus string `json:"dial_status,omitempty"`
}

// dialTalk is how long a simulated conversation with an operator lasts.
const dialTalk = 90 * time.Second

// CallIn places a call from `from` to a voice line served at lineURL, as
// Twilio does for an incoming call: a signed POST of the call's
// parameters, whose TwiML is played at once. A <Dial> rings its numbers
// at once: the first whose persona answers (Call: Answer) before the
// Dial's timeout (30 s by default) takes the call; the Dial's action, if
// any, is then posted with DialCallStatus and its TwiML played. The
// simulator's clock does not move: the call is played through.
func (s *Simulator) CallIn(lineURL, from, to string) (PublicCall, error) {
	c := PublicCall{SID: newSID("CA")}
	params := url.Values{"CallSid": {c.SID}, "AccountSid": {s.accountSID}, "From": {from}, "To": {to},
		"Direction": {"inbound"}, "CallStatus": {"ringing"}}
	verbs, err := s.fetchVerbs(lineURL, params)
	if err != nil {
		return c, err
	}
	for _, v := range verbs {
		switch v.name {
		case "Say":
			c.Said = append(c.Said, v.text)
		case "Dial":
			action, err := s.dial(&c, v)
			if err != nil {
				return c, err
			}
			if action == "" {
				continue
			}
			params.Set("CallStatus", "in-progress")
			params.Set("DialCallStatus", c.DialStatus)
			params.Set("DialCallDuration", "0")
			if c.AnsweredBy != "" {
				params.Set("DialCallDuration", strconv.Itoa(int(dialTalk.Seconds())))
			}
			next, err := s.fetchVerbs(action, params)
			if err != nil {
				return c, err
			}
			for _, v := range next {
				if v.name == "Say" {
					c.Said = append(c.Said, v.text)
				}
			}
			return c, nil // a Dial with an action ends the document
		case "Hangup":
			return c, nil
		case "Enqueue":
			return c, errors.New("<Enqueue>: a caller who waits in a queue is placed with Arrive")
		}
	}
	return c, nil
}

// dial rings a <Dial>'s numbers and returns its action URL.
func (s *Simulator) dial(c *PublicCall, v verb) (string, error) {
	timeout := 30 * time.Second
	if t, err := strconv.Atoi(v.attrs["timeout"]); err == nil && t > 0 {
		timeout = time.Duration(t) * time.Second
	}
	s.mu.Lock()
	profile := s.profile
	s.mu.Unlock()
	best := timeout
	c.DialStatus = "no-answer"
	for _, n := range v.children {
		if n.name != "Number" {
			continue
		}
		c.Rung = append(c.Rung, n.text)
		p := profile.PersonaFor(n.text)
		if after := profile.scale(p.AnswerAfter.Min); p.Call == Answer && after < best {
			best, c.AnsweredBy, c.DialStatus = after, n.text, "completed"
		}
	}
	if len(c.Rung) == 0 {
		return "", errors.New("<Dial> without a <Number>")
	}
	return v.attrs["action"], nil
}

// fetchVerbs posts params to a voice URL and parses the TwiML it answers.
func (s *Simulator) fetchVerbs(target string, params url.Values) ([]verb, error) {
	resp, err := s.send(http.MethodPost, target, params, maxTwiMLSize)
	if err != nil {
		return nil, fmt.Errorf("voice line: %w", err)
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("voice line answered %d", resp.status)
	}
	verbs, err := parseTwiML(resp.body)
	if err != nil {
		return nil, fmt.Errorf("voice line: %w", err)
	}
	return verbs, nil
}
