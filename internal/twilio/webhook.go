package twilio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/twilio/twilio-go/client"
)

// Validator checks the X-Twilio-Signature of incoming webhooks. It is safe
// for concurrent use; its printed and logged forms never show the token.
type Validator struct {
	// rv holds the token; by pointer so that no print of a Validator can
	// reach it.
	rv   *client.RequestValidator
	base string // the public URL, without trailing slash
}

// NewValidator returns a validator for webhooks signed with authToken and
// addressed to publicURL, the absolute URL Tocsin is reached at from
// outside (from configuration: a request's Host header is the caller's to
// choose). publicURL may end with a slash or not, and may have a path when
// Tocsin sits under a prefix.
func NewValidator(authToken, publicURL string) (*Validator, error) {
	if authToken == "" {
		// An empty key would let anyone sign.
		return nil, errors.New("twilio: webhook validator: AuthToken is required")
	}
	u, err := url.Parse(publicURL)
	switch {
	case err != nil:
		return nil, errors.New("twilio: webhook validator: public URL is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, errors.New("twilio: webhook validator: public URL must be an absolute http or https URL")
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, errors.New("twilio: webhook validator: public URL must not have credentials, a query or a fragment")
	}
	rv := client.NewRequestValidator(authToken)
	return &Validator{rv: &rv, base: strings.TrimRight(publicURL, "/")}, nil
}

// Valid reports whether signature (the X-Twilio-Signature header) signs a
// POST of rawBody to path. path is the request's path and query as received
// (r.URL.RequestURI()), relative to the public URL; rawBody is the body as
// read, before any form parsing. An empty signature is never valid.
func (v *Validator) Valid(path string, rawBody []byte, signature string) bool {
	if v == nil || v.rv == nil || signature == "" {
		return false
	}
	return v.rv.ValidateBody(v.base+"/"+strings.TrimPrefix(path, "/"), rawBody, signature)
}

// String names the public URL, never the token. Like Provider's, the
// printing methods take a Validator by value.
func (v Validator) String() string { return "twilio.Validator{PublicURL:" + v.base + "}" }

// GoString is String.
func (v Validator) GoString() string { return v.String() }

// Format prints String for every verb.
func (v Validator) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.String()) }

// LogValue logs the public URL, never the token.
func (v Validator) LogValue() slog.Value { return slog.StringValue(v.String()) }

// ErrInvalidWebhook is wrapped by every error of ParseStatusCallback,
// ParseInbound, ParseCallStatus, ParseGather and ParsePlay: the form is not
// one Twilio sends, and the handler should answer 400.
var ErrInvalidWebhook = errors.New("invalid twilio webhook")

// StatusCallback is what Twilio posts to a message's status callback URL.
type StatusCallback struct {
	MessageSID string
	AccountSID string // may be empty
	// MessageStatus is Twilio's word (queued, sent, delivered, …); Status
	// is the attempt status it maps to.
	MessageStatus string
	Status        tocsin.AttemptStatus
	// ErrorCode is set on failed and undelivered messages (30003, 30005,
	// 30006, 30007, …); 0 otherwise.
	ErrorCode int
	To        string // may be empty
	From      string // may be empty
}

// ParseStatusCallback reads a status callback form. MessageSid and
// MessageStatus are required (the older SmsSid and SmsStatus stand in for
// them), the status must be one MessageStatus knows, and ErrorCode must be
// a number when present. Errors wrap ErrInvalidWebhook.
func ParseStatusCallback(form url.Values) (StatusCallback, error) {
	var cb StatusCallback
	var err error
	if cb.MessageSID, err = sidField(form, "MessageSid", "SmsSid"); err != nil {
		return StatusCallback{}, err
	}
	cb.MessageStatus = first(form, "MessageStatus", "SmsStatus")
	if cb.MessageStatus == "" {
		return StatusCallback{}, fmt.Errorf("%w: missing MessageStatus", ErrInvalidWebhook)
	}
	var ok bool
	if cb.Status, ok = MessageStatus(cb.MessageStatus); !ok {
		return StatusCallback{}, fmt.Errorf("%w: unknown MessageStatus %.32q", ErrInvalidWebhook, cb.MessageStatus)
	}
	if cb.ErrorCode, err = numberField(form, "ErrorCode"); err != nil {
		return StatusCallback{}, err
	}
	cb.AccountSID = form.Get("AccountSid")
	cb.To = form.Get("To")
	cb.From = form.Get("From")
	return cb, nil
}

// Inbound is an SMS an official sent to Tocsin's number, as Twilio posts it
// to the incoming message webhook.
type Inbound struct {
	MessageSID string
	AccountSID string // may be empty
	From       string // the official's number
	To         string // Tocsin's number
	Body       string // may be empty
}

// ParseInbound reads an incoming SMS form. MessageSid (or SmsSid), From and
// To are required; Body may be empty. Errors wrap ErrInvalidWebhook.
func ParseInbound(form url.Values) (Inbound, error) {
	var in Inbound
	var err error
	if in.MessageSID, err = sidField(form, "MessageSid", "SmsSid"); err != nil {
		return Inbound{}, err
	}
	if in.From = form.Get("From"); in.From == "" {
		return Inbound{}, fmt.Errorf("%w: missing From", ErrInvalidWebhook)
	}
	if in.To = form.Get("To"); in.To == "" {
		return Inbound{}, fmt.Errorf("%w: missing To", ErrInvalidWebhook)
	}
	in.AccountSID = form.Get("AccountSid")
	in.Body = form.Get("Body")
	return in, nil
}

// CallStatusCallback is what Twilio posts to a call's status callback URL
// at each progress event (initiated, ringing, answered, completed).
type CallStatusCallback struct {
	CallSID    string
	AccountSID string // may be empty
	// CallStatus is Twilio's word (initiated, ringing, in-progress,
	// completed, busy, no-answer, canceled, failed); Status is the attempt
	// status it maps to. completed means answered, by a person or a
	// voicemail: only a key press informs.
	CallStatus string
	Status     tocsin.AttemptStatus
	// Duration is how long the call lasted once answered (CallDuration),
	// sent with the final event; 0 otherwise.
	Duration time.Duration
	// AnsweredBy is human, machine_start, fax, unknown…, sent only when
	// answering machine detection was asked for; empty otherwise.
	AnsweredBy string
	To         string // the official's number; may be empty
	From       string // the caller ID; may be empty
	// ErrorCode is Twilio's error for a failed call, when it gives one;
	// SipResponseCode is the SIP answer that ended the call (486 busy, 487
	// no answer, 404 …). 0 when absent.
	ErrorCode       int
	SipResponseCode int
}

// ParseCallStatus reads a call status callback form. CallSid and
// CallStatus are required, the status must be one CallStatus knows, and
// CallDuration, ErrorCode and SipResponseCode must be numbers when present.
// Errors wrap ErrInvalidWebhook.
func ParseCallStatus(form url.Values) (CallStatusCallback, error) {
	var cb CallStatusCallback
	var err error
	if cb.CallSID, err = sidField(form, "CallSid"); err != nil {
		return CallStatusCallback{}, err
	}
	if cb.CallStatus = form.Get("CallStatus"); cb.CallStatus == "" {
		return CallStatusCallback{}, fmt.Errorf("%w: missing CallStatus", ErrInvalidWebhook)
	}
	var ok bool
	if cb.Status, ok = CallStatus(cb.CallStatus); !ok {
		return CallStatusCallback{}, fmt.Errorf("%w: unknown CallStatus %.32q", ErrInvalidWebhook, cb.CallStatus)
	}
	var secs int
	for _, f := range []struct {
		key string
		to  *int
	}{
		{"CallDuration", &secs},
		{"ErrorCode", &cb.ErrorCode},
		{"SipResponseCode", &cb.SipResponseCode},
	} {
		if *f.to, err = numberField(form, f.key); err != nil {
			return CallStatusCallback{}, err
		}
	}
	if secs > maxCallSeconds {
		return CallStatusCallback{}, fmt.Errorf("%w: CallDuration %d s is longer than any call", ErrInvalidWebhook, secs)
	}
	cb.Duration = time.Duration(secs) * time.Second
	cb.AccountSID = form.Get("AccountSid")
	cb.AnsweredBy = form.Get("AnsweredBy")
	cb.To = form.Get("To")
	cb.From = form.Get("From")
	return cb, nil
}

// maxCallSeconds is Twilio's longest call (its TimeLimit ceiling, 24 h).
const maxCallSeconds = 24 * 60 * 60

// AckDigit is the key that acknowledges an alert during a call.
const AckDigit = "1"

// Gather is what Twilio posts to a Gather's action URL once the official
// pressed a key during a call.
type Gather struct {
	CallSID    string
	AccountSID string // may be empty
	// Digits is what was pressed: one key, since Tocsin gathers one. It is
	// empty when the official pressed # alone.
	Digits string
	To     string // the official's number; may be empty
	From   string // the caller ID; may be empty
}

// Acknowledges reports whether the official pressed AckDigit.
func (g Gather) Acknowledges() bool { return g.Digits == AckDigit }

// maxDigits bounds Digits: a Gather with numDigits 1 sends one.
const maxDigits = 32

// ParseGather reads a Gather action form. CallSid is required; Digits may
// be empty but holds only 0-9, * and #. Errors wrap ErrInvalidWebhook.
func ParseGather(form url.Values) (Gather, error) {
	var g Gather
	var err error
	if g.CallSID, err = sidField(form, "CallSid"); err != nil {
		return Gather{}, err
	}
	g.Digits = form.Get("Digits")
	if len(g.Digits) > maxDigits || strings.Trim(g.Digits, "0123456789*#") != "" {
		return Gather{}, fmt.Errorf("%w: Digits %.32q are not keys of a phone", ErrInvalidWebhook, g.Digits)
	}
	g.AccountSID = form.Get("AccountSid")
	g.To = form.Get("To")
	g.From = form.Get("From")
	return g, nil
}

// numberField reads a non-negative integer field; 0 when absent or empty.
func numberField(form url.Values, key string) (int, error) {
	s := form.Get(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s %.32q is not a number", ErrInvalidWebhook, key, s)
	}
	return n, nil
}

// sidField reads a SID from the first of keys that is set. A SID is short
// and made of letters and digits: it ends up in storage keys and logs.
func sidField(form url.Values, keys ...string) (string, error) {
	sid := first(form, keys...)
	switch {
	case sid == "":
		return "", fmt.Errorf("%w: missing %s", ErrInvalidWebhook, keys[0])
	case len(sid) > 64 || !alphanumeric.MatchString(sid):
		return "", fmt.Errorf("%w: %s is not a Twilio SID", ErrInvalidWebhook, keys[0])
	}
	return sid, nil
}

// first returns the value of the first of keys that is set and not empty.
func first(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := form.Get(k); v != "" {
			return v
		}
	}
	return ""
}
