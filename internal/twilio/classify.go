package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/twilio/twilio-go/client"
)

// Twilio error codes that decide what a failed send means.
const (
	codeAuthenticate     = 20003 // bad account SID or token
	codeTooManyRequests  = 20429
	codeInvalidUsername  = 21222 // twilio-go refused the SID before sending
	codeInvalidPassword  = 21224 // twilio-go refused the token before sending
	codeRegionNotEnabled = 21408 // geographic permission not enabled for the number's country
	codeInvalidTo        = 21211
	codeUnsubscribed     = 21610 // the recipient replied STOP
	codeCannotRoute      = 21612
	codeNotMobile        = 21614 // a landline, or a number that cannot receive SMS

	// Calls.
	codeCallGeoPermission = 21215 // geographic permission not enabled for the number's country
	codeCallBlocked       = 21216 // the account may not call this number (blocked, premium)
	codeCallInvalidTo     = 21217 // the number does not appear to be valid
	codeCallBadFormat     = 13223 // invalid phone number format
	codeCallUnsupported   = 13224 // Twilio cannot call this number, or it is invalid
)

// permanent lists the codes that refuse a number for good on this channel,
// with the reason dispatch records and counts. Messages and calls share it:
// their codes do not overlap, and one cause gets one reason whatever the
// channel (a geographic permission missing for SMS or for calls is
// region_not_enabled).
var permanent = map[int]tocsin.Reason{
	codeInvalidTo:         tocsin.ReasonInvalidNumber,
	codeNotMobile:         tocsin.ReasonNotMobile,
	codeUnsubscribed:      tocsin.ReasonUnsubscribed,
	codeCannotRoute:       tocsin.ReasonCannotRoute,
	codeRegionNotEnabled:  tocsin.ReasonRegionNotEnabled,
	codeCallGeoPermission: tocsin.ReasonRegionNotEnabled,
	codeCallBlocked:       tocsin.ReasonCallBlocked,
	codeCallInvalidTo:     tocsin.ReasonInvalidNumber,
	codeCallBadFormat:     tocsin.ReasonInvalidNumber,
	codeCallUnsupported:   tocsin.ReasonInvalidNumber,
}

// classify turns what twilio-go returned for a create request into a
// *tocsin.SendError. The rule it keeps: Unknown whenever the request may
// have reached Twilio and Twilio did not answer with a refusal; NotSentRetry
// only when Twilio refused or nothing was written.
func classify(ctx context.Context, op string, err error, x *exchange, now time.Time) *tocsin.SendError {
	se := &tocsin.SendError{Err: fmt.Errorf("twilio: %s: %w", op, scrub(err))}
	status := x.status

	var rest *client.TwilioRestError
	var v1 *client.RestErrorV1
	var ue *url.Error
	switch {
	case errors.As(err, &rest):
		se.Code = rest.Code
		if status == 0 {
			status = rest.Status
		}
	case errors.As(err, &v1):
		se.Code = v1.Code
		if status == 0 {
			status = v1.HttpStatusCode
		}
	case errors.As(err, &ue):
		// The request failed on the wire, before or after it was written.
		se.Outcome, se.Reason = tocsin.NotSentRetry, tocsin.ReasonNetwork
		if x.wrote.Load() {
			se.Outcome = tocsin.Unknown
		}
		var ne net.Error
		switch cerr := ctx.Err(); {
		case errors.Is(cerr, context.Canceled):
			se.Reason = tocsin.ReasonCanceled
		case cerr != nil, errors.As(err, &ne) && ne.Timeout():
			se.Reason = tocsin.ReasonTimeout
		}
		return se
	}

	if reason, ok := permanent[se.Code]; ok {
		se.Outcome, se.Reason = tocsin.NotSentPermanent, reason
		return se
	}
	switch {
	case se.Code == codeTooManyRequests || status == http.StatusTooManyRequests:
		se.Outcome, se.Reason = tocsin.NotSentRetry, tocsin.ReasonRateLimited
		se.RetryAfter = retryAfter(x.header, now)
	case se.Code == codeAuthenticate || se.Code == codeInvalidUsername ||
		se.Code == codeInvalidPassword || status == http.StatusUnauthorized:
		se.Outcome, se.Reason = tocsin.NotSentRetry, tocsin.ReasonAuth
	case status >= 500:
		se.Outcome, se.Reason = tocsin.Unknown, tocsin.ReasonServerError
	case status >= 400:
		se.Outcome, se.Reason = tocsin.NotSentRetry, tocsin.ReasonClientError
	case status != 0:
		// A success or a redirect whose body twilio-go could not read: the
		// message may exist.
		se.Outcome, se.Reason = tocsin.Unknown, tocsin.ReasonBadResponse
	case x.wrote.Load():
		se.Outcome, se.Reason = tocsin.Unknown, tocsin.ReasonNetwork
	default:
		// twilio-go gave up before sending anything.
		se.Outcome, se.Reason = tocsin.NotSentRetry, tocsin.ReasonClientError
	}
	return se
}

// notStarted is the error of a create that was not attempted because its
// context had already ended: nothing was sent.
func notStarted(op string, ctxErr error) *tocsin.SendError {
	reason := tocsin.ReasonCanceled
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		reason = tocsin.ReasonTimeout
	}
	return &tocsin.SendError{
		Outcome: tocsin.NotSentRetry, Reason: reason,
		Err: fmt.Errorf("twilio: %s: %w", op, ctxErr),
	}
}

// scrub drops the URL that net/http puts in a transport error: it may hold
// a phone number (the To filter of a list) and tells nothing the operation
// name does not.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0
// when absent, unreadable or past, and at most maxRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil && at.After(now) {
		d = at.Sub(now)
	}
	return min(d, maxRetryAfter)
}

// maxRetryAfter caps a hint that would otherwise park a send for days.
const maxRetryAfter = time.Hour

// statusFor is the attempt status that goes with a failed send.
func statusFor(o tocsin.SendOutcome) tocsin.AttemptStatus {
	switch o {
	case tocsin.NotSentRetry:
		return tocsin.AttemptRetry
	case tocsin.NotSentPermanent:
		return tocsin.AttemptRejected
	default:
		return tocsin.AttemptCreated
	}
}
