package twilio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// DefaultRingTimeout is how long a call rings when Call is given no ring
// time: long enough for an official to reach a phone, short enough to hang
// up before most voicemails answer.
const DefaultRingTimeout = 30 * time.Second

// maxRingTimeout is Twilio's ceiling for a call's Timeout.
const maxRingTimeout = 600 * time.Second

// callEvents are the progress events a call's status callback receives:
// all of them, so that the timeline shows ringing and answering.
var callEvents = []string{"initiated", "ringing", "answered", "completed"}

// ErrNoCallerID is wrapped by the error of Call when the provider has no
// number to call from: a Messaging Service sends SMS but cannot place
// calls. Set Config.CallerID or Config.From.
var ErrNoCallerID = errors.New("twilio: no number to place calls from: set CallerID or From (a Messaging Service cannot place calls)")

// Call asks Twilio to call `to` from the configured caller ID, and returns
// the call's SID and first status (usually queued). Once answered, Twilio
// fetches twimlURL with a POST for what to say. statusCallback, when not
// empty, receives the initiated, ringing, answered and completed events.
// ringTimeout is how long the phone rings before the call ends no-answer:
// DefaultRingTimeout when zero or negative, rounded up to the second, at
// most 600 s.
//
// Failures are as SendSMS's: sid is empty, err is a *tocsin.SendError, and
// status is AttemptRetry, AttemptRejected (the number cannot be called:
// invalid, not permitted) or AttemptCreated (the outcome is unknown:
// reconcile with ListCalls before calling again). Without a caller ID the
// error is NotSentRetry with reason "no_caller_id" and wraps
// ErrNoCallerID: the configuration is at fault, not the number.
func (p *Provider) Call(ctx context.Context, to, twimlURL, statusCallback string, ringTimeout time.Duration) (sid string, status tocsin.AttemptStatus, err error) {
	const op = "create call"
	if p.callerID == "" {
		return "", tocsin.AttemptRetry, &tocsin.SendError{
			Outcome: tocsin.NotSentRetry, Reason: tocsin.ReasonNoCallerID, Err: ErrNoCallerID,
		}
	}
	if twimlURL == "" {
		return "", tocsin.AttemptRetry, &tocsin.SendError{
			Outcome: tocsin.NotSentRetry, Reason: tocsin.ReasonClientError,
			Err: errors.New("twilio: create call: no TwiML URL given"),
		}
	}
	if err := ctx.Err(); err != nil {
		return "", tocsin.AttemptRetry, notStarted(op, err)
	}
	api, x := p.sdk(ctx)
	params := (&openapi.CreateCallParams{}).
		SetTo(to).
		SetFrom(p.callerID).
		SetUrl(twimlURL).
		SetMethod("POST").
		SetTimeout(ringSeconds(ringTimeout))
	if statusCallback != "" {
		params.SetStatusCallback(statusCallback).
			SetStatusCallbackMethod("POST").
			SetStatusCallbackEvent(callEvents)
	}

	c, err := api.CreateCall(params)
	if err != nil {
		se := classify(ctx, op, err, x, p.now())
		p.log.Debug("call not placed", "to", maskNumber(to), "outcome", se.Outcome.String(),
			"reason", se.Reason.String(), "code", se.Code, "http_status", x.status)
		return "", statusFor(se.Outcome), se
	}
	sid, status, err = created(op, c.Sid, c.Status, CallStatus)
	if err == nil {
		p.log.Debug("call placed", "to", maskNumber(to), "sid", sid, "status", string(status))
	}
	return sid, status, err
}

// ringSeconds is Twilio's Timeout for a ring time.
func ringSeconds(d time.Duration) int {
	if d <= 0 {
		d = DefaultRingTimeout
	}
	d = min(d, maxRingTimeout)
	return int((d + time.Second - 1) / time.Second)
}

// ListCalls returns the calls to `to` that Twilio created at or after since
// (to the second), newest first, with an empty Body. Like ListSMS it is
// meant to settle an attempt whose outcome is unknown, and filters on the
// creation date itself: Twilio's StartTime filter is day-granular and a
// queued call has no start_time yet.
func (p *Provider) ListCalls(ctx context.Context, to string, since time.Time) ([]tocsin.ProviderMessage, error) {
	if to == "" {
		return nil, fmt.Errorf("twilio: list calls: %w", errNoNumber)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("twilio: list calls: %w", err)
	}
	api, _ := p.sdk(ctx)
	params := (&openapi.ListCallParams{}).SetTo(to).SetPageSize(p.pageSize)
	return listSince(api, listing[openapi.ListCallResponse, openapi.ApiV2010Call, tocsin.ProviderMessage]{
		op:    "list calls",
		first: func() (*openapi.ListCallResponse, error) { return api.PageCall(params, "", "") },
		items: func(r *openapi.ListCallResponse) ([]openapi.ApiV2010Call, *string) {
			return r.Calls, r.NextPageUri
		},
		convert: sentTo(to, providerCall),
	}, since)
}

// providerCall converts a listed call.
func providerCall(c openapi.ApiV2010Call) (tocsin.ProviderMessage, error) {
	pm, err := providerRecord("call", c.Sid, c.DateCreated, c.To)
	if err != nil {
		return pm, err
	}
	pm.Status = tocsin.AttemptQueued
	if c.Status != nil {
		if s, ok := CallStatus(*c.Status); ok {
			pm.Status = s
		}
	}
	return pm, nil
}

// CallStatus maps a Twilio call status to an attempt status. ok is false
// for a status Tocsin does not know; a caller that lists calls may then
// assume the call exists and is queued.
func CallStatus(s string) (status tocsin.AttemptStatus, ok bool) {
	switch s {
	case "queued":
		return tocsin.AttemptQueued, true
	case "initiated":
		return tocsin.AttemptInitiated, true
	case "ringing":
		return tocsin.AttemptRinging, true
	case "in-progress":
		return tocsin.AttemptInProgress, true
	case "completed":
		return tocsin.AttemptCompleted, true
	case "busy":
		return tocsin.AttemptBusy, true
	case "no-answer":
		return tocsin.AttemptNoAnswer, true
	case "canceled":
		return tocsin.AttemptCanceled, true
	case "failed":
		return tocsin.AttemptFailed, true
	}
	return "", false
}
