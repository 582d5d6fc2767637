package twilio

import (
	"context"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// SendSMS hands one SMS to Twilio and returns its SID and first status
// (usually queued). statusCallback, when not empty, is the URL Twilio posts
// the message's status changes to.
//
// On failure sid is empty, err is a *tocsin.SendError, and status says what
// the attempt has become: AttemptRetry (not sent, try again later),
// AttemptRejected (not sent, never on this channel) or AttemptCreated (the
// outcome is unknown: reconcile with ListSMS before sending again). A
// context already done sends nothing; a context that ends during the
// request aborts it, which may leave the outcome unknown.
func (p *Provider) SendSMS(ctx context.Context, to, body, statusCallback string) (sid string, status tocsin.AttemptStatus, err error) {
	if err := ctx.Err(); err != nil {
		return "", tocsin.AttemptRetry, notStarted("create message", err)
	}
	api, x := p.sdk(ctx)
	params := (&openapi.CreateMessageParams{}).SetTo(to).SetBody(body)
	if p.from != "" {
		params.SetFrom(p.from)
	}
	if p.serviceSID != "" {
		params.SetMessagingServiceSid(p.serviceSID)
	}
	if statusCallback != "" {
		params.SetStatusCallback(statusCallback)
	}

	m, err := api.CreateMessage(params)
	if err != nil {
		se := classify(ctx, "create message", err, x, p.now())
		p.log.Debug("sms not taken", "to", maskNumber(to), "outcome", se.Outcome.String(),
			"reason", se.Reason.String(), "code", se.Code, "http_status", x.status)
		return "", statusFor(se.Outcome), se
	}
	sid, status, err = created("create message", m.Sid, m.Status, MessageStatus)
	if err == nil {
		p.log.Debug("sms taken", "to", maskNumber(to), "sid", sid, "status", string(status))
	}
	return sid, status, err
}

// created reads the SID and first status of a message or call Twilio
// created; known maps Twilio's status word. An answer without a SID is an
// unknown outcome: the message or call may exist.
func created(op string, sid, st *string, known func(string) (tocsin.AttemptStatus, bool)) (string, tocsin.AttemptStatus, error) {
	if sid == nil || *sid == "" {
		return "", tocsin.AttemptCreated, &tocsin.SendError{
			Outcome: tocsin.Unknown, Reason: tocsin.ReasonBadResponse,
			Err: fmt.Errorf("twilio: %s: response has no sid", op),
		}
	}
	status := tocsin.AttemptQueued
	if st != nil {
		if s, ok := known(*st); ok {
			status = s
		}
	}
	return *sid, status, nil
}

// ListSMS returns the messages sent to `to` that Twilio created at or after
// since (to the second, Twilio's precision), newest first. It is meant to
// settle an attempt whose outcome is unknown: since should be when the
// attempt was written, less any clock skew the caller fears.
//
// It lists by recipient only and filters on the creation date itself:
// Twilio's DateSent filter is day-granular and a queued message has no
// date_sent yet. Pages come newest first, so paging stops at the first page
// that reaches past since.
func (p *Provider) ListSMS(ctx context.Context, to string, since time.Time) ([]tocsin.ProviderMessage, error) {
	if to == "" {
		return nil, fmt.Errorf("twilio: list messages: %w", errNoNumber)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("twilio: list messages: %w", err)
	}
	api, _ := p.sdk(ctx)
	params := (&openapi.ListMessageParams{}).SetTo(to).SetPageSize(p.pageSize)
	return listSince(api, listing[openapi.ListMessageResponse, openapi.ApiV2010Message, tocsin.ProviderMessage]{
		op:      "list messages",
		first:   func() (*openapi.ListMessageResponse, error) { return api.PageMessage(params, "", "") },
		items:   messageItems,
		convert: sentTo(to, providerMessage),
	}, since)
}

func messageItems(r *openapi.ListMessageResponse) ([]openapi.ApiV2010Message, *string) {
	return r.Messages, r.NextPageUri
}

// providerMessage converts a listed message.
func providerMessage(m openapi.ApiV2010Message) (tocsin.ProviderMessage, error) {
	pm, err := providerRecord("message", m.Sid, m.DateCreated, m.To)
	if err != nil {
		return pm, err
	}
	if m.Body != nil {
		pm.Body = *m.Body
	}
	if m.ErrorCode != nil {
		pm.ErrorCode = *m.ErrorCode
	}
	pm.Status = tocsin.AttemptQueued
	if m.Status != nil {
		if s, ok := MessageStatus(*m.Status); ok {
			pm.Status = s
		}
	}
	return pm, nil
}

// MessageStatus maps a Twilio message status to an attempt status. ok is
// false for a status Tocsin does not know (or an inbound one); a caller
// that lists messages may then assume the message exists and is queued.
func MessageStatus(s string) (status tocsin.AttemptStatus, ok bool) {
	switch s {
	case "accepted", "scheduled", "queued":
		return tocsin.AttemptQueued, true
	case "sending":
		return tocsin.AttemptSending, true
	case "sent":
		return tocsin.AttemptSent, true
	case "delivered", "read":
		return tocsin.AttemptDelivered, true
	case "undelivered":
		return tocsin.AttemptUndelivered, true
	case "failed", "canceled":
		return tocsin.AttemptFailed, true
	}
	return "", false
}

// maskNumber keeps the country prefix and the last two digits, for logs.
func maskNumber(n string) string {
	if len(n) <= 6 {
		return "***"
	}
	return n[:3] + "***" + n[len(n)-2:]
}
