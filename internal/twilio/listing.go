package twilio

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// maxPages stops a listing that a misbehaving server would never end:
// 200,000 records at maxPageSize.
const maxPages = 200

// maxPageSize is the most records Twilio gives in one page of a listing.
const maxPageSize = 1000

// listing is one newest-first list resource of the 2010 API (Messages,
// Calls) as listSince needs it. P is the SDK's page type, I its item type,
// R what the listing returns of each item.
type listing[P, I, R any] struct {
	op string // for errors: "list messages"
	// first fetches the first page, filtered by the server as it can.
	first func() (*P, error)
	// items returns a page's items and its next page URI (nil or empty on
	// the last page).
	items func(*P) ([]I, *string)
	// convert reads an item: what to return of it, when the provider
	// created it, and whether it is wanted (a server may ignore a filter).
	// An item it cannot date is an error.
	convert func(I) (r R, created time.Time, keep bool, err error)
}

// listSince returns the wanted items created at or after since (to the
// second, Twilio's precision), newest first.
//
// It filters on the creation date itself: Twilio's date filters are
// day-granular, and a queued message has no date_sent nor a queued call a
// start_time. Pages come newest first, so paging stops at the first page
// that reaches past since; a page URI seen twice, or more than maxPages
// pages, is an error rather than an endless loop.
func listSince[P, I, R any](api *openapi.ApiService, l listing[P, I, R], since time.Time) ([]R, error) {
	cutoff := since.Truncate(time.Second)
	page, err := l.first()

	var out []R
	seen := map[string]bool{}
	for n := 1; ; n++ {
		if err != nil {
			return nil, fmt.Errorf("twilio: %s: %w", l.op, scrub(err))
		}
		items, next := l.items(page)
		older := false
		for _, it := range items {
			r, created, keep, err := l.convert(it)
			if err != nil {
				return nil, fmt.Errorf("twilio: %s: %w", l.op, err)
			}
			if created.Before(cutoff) {
				older = true
				continue
			}
			if keep {
				out = append(out, r)
			}
		}
		if older || next == nil || *next == "" {
			return out, nil
		}
		switch {
		case seen[*next]:
			return nil, fmt.Errorf("twilio: %s: the server repeats a page", l.op)
		case n >= maxPages:
			return nil, fmt.Errorf("twilio: %s: more than %d pages", l.op, maxPages)
		}
		seen[*next] = true
		var res any
		res, err = client.GetNext(sdkBaseURL, page, nextPage[P](api))
		if err == nil {
			if page, _ = res.(*P); page == nil {
				return out, nil
			}
		}
	}
}

// sentTo keeps the records sent to one number: a server that ignored the
// filter must not make another number's message look like ours.
func sentTo[I any](number string, convert func(I) (tocsin.ProviderMessage, error)) func(I) (tocsin.ProviderMessage, time.Time, bool, error) {
	return func(it I) (tocsin.ProviderMessage, time.Time, bool, error) {
		pm, err := convert(it)
		return pm, pm.CreatedAt, pm.To == number, err
	}
}

// nextPage fetches a page from the URL twilio-go builds out of
// next_page_uri; the v2010 package does the same internally but only behind
// its goroutine-driven streams, which cannot stop early.
func nextPage[P any](api *openapi.ApiService) func(string) (any, error) {
	return func(next string) (any, error) {
		if next == "" {
			return nil, nil
		}
		resp, err := api.RequestHandler().Get(next, nil, nil, "")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		page := new(P)
		if err := json.NewDecoder(resp.Body).Decode(page); err != nil {
			return nil, fmt.Errorf("decode page: %w", err)
		}
		return page, nil
	}
}

// providerRecord reads the fields that messages and calls share. A record
// without a readable creation date is an error: counting it in or out could
// send twice or not at all.
func providerRecord(kind string, sid, created, to *string) (tocsin.ProviderMessage, error) {
	var pm tocsin.ProviderMessage
	if sid == nil || *sid == "" {
		return pm, fmt.Errorf("a %s has no sid", kind)
	}
	pm.SID = *sid
	if created == nil {
		return pm, fmt.Errorf("%s %s has no date_created", kind, pm.SID)
	}
	t, err := parseTwilioTime(*created)
	if err != nil {
		return pm, fmt.Errorf("%s %s: date_created: %w", kind, pm.SID, err)
	}
	pm.CreatedAt = t
	if to != nil {
		pm.To = *to
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

// errNoNumber is returned by a listing asked for no number: it would list
// the whole account.
var errNoNumber = errors.New("no number given")
