package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// maxPages stops a listing that a misbehaving server would never end.
const maxPages = 200

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
		reason := "canceled"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		}
		return "", tocsin.AttemptRetry, &tocsin.SendError{
			Outcome: tocsin.NotSentRetry, Reason: reason,
			Err: fmt.Errorf("twilio: create message: %w", err),
		}
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
			"reason", se.Reason, "code", se.Code, "http_status", x.status)
		return "", statusFor(se.Outcome), se
	}
	if m.Sid == nil || *m.Sid == "" {
		// Twilio answered 2xx without a SID: the message may exist.
		return "", tocsin.AttemptCreated, &tocsin.SendError{
			Outcome: tocsin.Unknown, Reason: "bad_response",
			Err: errors.New("twilio: create message: response has no sid"),
		}
	}
	status = tocsin.AttemptQueued
	if m.Status != nil {
		if s, ok := MessageStatus(*m.Status); ok {
			status = s
		}
	}
	p.log.Debug("sms taken", "to", maskNumber(to), "sid", *m.Sid, "status", string(status))
	return *m.Sid, status, nil
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
		return nil, errors.New("twilio: list messages: no number given")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("twilio: list messages: %w", err)
	}
	api, _ := p.sdk(ctx)
	cutoff := since.Truncate(time.Second)
	params := (&openapi.ListMessageParams{}).SetTo(to).SetPageSize(p.pageSize)
	page, err := api.PageMessage(params, "", "")

	var out []tocsin.ProviderMessage
	seen := map[string]bool{}
	for n := 1; ; n++ {
		if err != nil {
			return nil, fmt.Errorf("twilio: list messages: %w", scrub(err))
		}
		older := false
		for _, m := range page.Messages {
			pm, err := providerMessage(m)
			if err != nil {
				return nil, fmt.Errorf("twilio: list messages: %w", err)
			}
			if pm.To != to {
				continue // a server that ignored the filter
			}
			if pm.CreatedAt.Before(cutoff) {
				older = true
				continue
			}
			out = append(out, pm)
		}
		if older || page.NextPageUri == nil || *page.NextPageUri == "" {
			return out, nil
		}
		next := *page.NextPageUri
		switch {
		case seen[next]:
			return nil, errors.New("twilio: list messages: the server repeats a page")
		case n >= maxPages:
			return nil, fmt.Errorf("twilio: list messages: more than %d pages", maxPages)
		}
		seen[next] = true
		var res any
		res, err = client.GetNext(sdkBaseURL, page, nextMessagePage(api))
		if err == nil {
			page, _ = res.(*openapi.ListMessageResponse)
			if page == nil {
				return out, nil
			}
		}
	}
}

// nextMessagePage fetches a page from the URL twilio-go builds out of
// next_page_uri; the v2010 package does the same internally but only behind
// its goroutine-driven stream, which cannot stop early.
func nextMessagePage(api *openapi.ApiService) func(string) (any, error) {
	return func(next string) (any, error) {
		if next == "" {
			return nil, nil
		}
		resp, err := api.RequestHandler().Get(next, nil, nil, "")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		page := &openapi.ListMessageResponse{}
		if err := json.NewDecoder(resp.Body).Decode(page); err != nil {
			return nil, fmt.Errorf("decode page: %w", err)
		}
		return page, nil
	}
}

// providerMessage converts a listed message. A message without a readable
// creation date is an error: counting it in or out could send twice or not
// at all.
func providerMessage(m openapi.ApiV2010Message) (tocsin.ProviderMessage, error) {
	var pm tocsin.ProviderMessage
	if m.Sid == nil || *m.Sid == "" {
		return pm, errors.New("a message has no sid")
	}
	pm.SID = *m.Sid
	if m.DateCreated == nil {
		return pm, fmt.Errorf("message %s has no date_created", pm.SID)
	}
	created, err := parseTwilioTime(*m.DateCreated)
	if err != nil {
		return pm, fmt.Errorf("message %s: date_created: %w", pm.SID, err)
	}
	pm.CreatedAt = created
	if m.To != nil {
		pm.To = *m.To
	}
	if m.Body != nil {
		pm.Body = *m.Body
	}
	pm.Status = tocsin.AttemptQueued
	if m.Status != nil {
		if s, ok := MessageStatus(*m.Status); ok {
			pm.Status = s
		}
	}
	return pm, nil
}

// parseTwilioTime reads the RFC 2822 dates of the 2010 API ("Mon, 02 Jan
// 2006 15:04:05 +0000"), and RFC 3339 from endpoints that prefer it.
func parseTwilioTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
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
