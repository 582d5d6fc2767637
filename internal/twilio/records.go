package twilio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Twilio is the source of truth for what arrived: a reply or a status
// callback that Tocsin could not record (store unavailable, replica down,
// webhook lost) is still in the account's records. ListReplies and the
// fetches read them back for reconciliation.

// ListReplies returns the SMS the account received at or after since (to
// the second), newest first, with the time Twilio received each.
//
// With a sending number it lists the messages to that number (only replies
// are addressed to it); with a Messaging Service alone it lists the
// account's messages and keeps the inbound ones. Twilio's DateSent filter
// is day-granular: it narrows the listing to the days concerned, and the
// exact instant is filtered here.
func (p *Provider) ListReplies(ctx context.Context, since time.Time) ([]tocsin.Inbound, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("twilio: list replies: %w", err)
	}
	api, _ := p.sdk(ctx)
	day := since.UTC().Truncate(24 * time.Hour)
	params := (&openapi.ListMessageParams{}).SetDateSentAfter(day).SetPageSize(p.pageSize)
	if p.from != "" {
		params.SetTo(p.from)
	}
	return listSince(api, listing[openapi.ListMessageResponse, openapi.ApiV2010Message, tocsin.Inbound]{
		op:      "list replies",
		first:   func() (*openapi.ListMessageResponse, error) { return api.PageMessage(params, "", "") },
		items:   messageItems,
		convert: p.inbound,
	}, since)
}

// inbound reads a listed message as a reply; outbound messages (a server
// that ignored the To filter, or a Messaging Service's listing) are not
// kept. A reply's time is when Twilio received it (date_sent), or its
// creation when that is missing.
func (p *Provider) inbound(m openapi.ApiV2010Message) (tocsin.Inbound, time.Time, bool, error) {
	pm, err := providerRecord("message", m.Sid, m.DateCreated, m.To)
	if err != nil {
		return tocsin.Inbound{}, time.Time{}, false, err
	}
	in := tocsin.Inbound{SID: pm.SID, At: pm.CreatedAt, Recovered: true}
	if m.DateSent != nil && *m.DateSent != "" {
		if t, err := parseTwilioTime(*m.DateSent); err == nil {
			in.At = t
		}
	}
	if m.From != nil {
		in.From = *m.From
	}
	if m.Body != nil {
		in.Body = *m.Body
	}
	keep := m.Direction != nil && *m.Direction == "inbound" && in.From != "" && (p.from == "" || pm.To == p.from)
	return in, pm.CreatedAt, keep, nil
}

// ErrNoRecord is wrapped by FetchSMS and FetchCall when Twilio has no
// message or call with that SID.
var ErrNoRecord = errors.New("no such record at the provider")

// FetchSMS reads one message's current status from Twilio, for an attempt
// whose status callbacks were lost.
func (p *Provider) FetchSMS(ctx context.Context, sid string) (tocsin.ProviderMessage, error) {
	if err := ctx.Err(); err != nil {
		return tocsin.ProviderMessage{}, fmt.Errorf("twilio: fetch message: %w", err)
	}
	api, x := p.sdk(ctx)
	m, err := api.FetchMessage(sid, &openapi.FetchMessageParams{})
	if err != nil {
		return tocsin.ProviderMessage{}, fetchError("fetch message", err, x)
	}
	return providerMessage(*m)
}

// FetchCall reads one call's current status from Twilio, for an attempt
// whose status callbacks were lost.
func (p *Provider) FetchCall(ctx context.Context, sid string) (tocsin.ProviderMessage, error) {
	if err := ctx.Err(); err != nil {
		return tocsin.ProviderMessage{}, fmt.Errorf("twilio: fetch call: %w", err)
	}
	api, x := p.sdk(ctx)
	c, err := api.FetchCall(sid, &openapi.FetchCallParams{})
	if err != nil {
		return tocsin.ProviderMessage{}, fetchError("fetch call", err, x)
	}
	return providerCall(*c)
}

func fetchError(op string, err error, x *exchange) error {
	if x.status == 404 {
		return fmt.Errorf("twilio: %s: %w", op, ErrNoRecord)
	}
	return fmt.Errorf("twilio: %s: %w", op, scrub(err))
}

// Ping checks that the account answers and takes its credentials, with
// the cheapest read there is (one message of the listing): it sends
// nothing.
func (p *Provider) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("twilio: ping: %w", err)
	}
	api, _ := p.sdk(ctx)
	if _, err := api.PageMessage((&openapi.ListMessageParams{}).SetPageSize(1), "", ""); err != nil {
		return fmt.Errorf("twilio: ping: %w", scrub(err))
	}
	return nil
}
