package twiliosim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// param is one query parameter kept, in order, for the page URIs.
type param struct{ key, value string }

// page is a list request's paging: Page and PageSize, and the PageToken of
// a next_page_uri ("PA" + the SID the previous page ended with) or of a
// previous_page_uri ("PB" + the SID the next page started with).
type page struct {
	number int
	size   int
	token  string
	path   string
	keep   []param // the filters, repeated in every page URI
}

func parsePage(r *http.Request, q url.Values) (page, *apiError) {
	p := page{size: defaultPageSize, token: q.Get("PageToken"), path: r.URL.Path}
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, badRequest(CodeBadRequest, "PageSize must be a positive integer")
		}
		p.size = min(n, maxPageSize)
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, badRequest(CodeBadRequest, "Page must be a non-negative integer")
		}
		p.number = n
	}
	if p.token != "" && !strings.HasPrefix(p.token, "PA") && !strings.HasPrefix(p.token, "PB") {
		return p, badRequest(CodeBadRequest, "Invalid PageToken")
	}
	return p, nil
}

func (p *page) uri(number int, token string) string {
	var b strings.Builder
	b.WriteString(p.path)
	b.WriteByte('?')
	for _, kv := range p.keep {
		b.WriteString(url.QueryEscape(kv.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv.value))
		b.WriteByte('&')
	}
	b.WriteString("PageSize=" + strconv.Itoa(p.size) + "&Page=" + strconv.Itoa(number))
	if token != "" {
		b.WriteString("&PageToken=" + url.QueryEscape(token))
	}
	return b.String()
}

// listMeta is the paging part of a Twilio list response.
type listMeta struct {
	FirstPageURI    string  `json:"first_page_uri"`
	End             int     `json:"end"`
	PreviousPageURI *string `json:"previous_page_uri"`
	URI             string  `json:"uri"`
	PageSize        int     `json:"page_size"`
	Start           int     `json:"start"`
	NextPageURI     *string `json:"next_page_uri"`
	Page            int     `json:"page"`
}

// paginate cuts one page out of items, which are newest first; seqOf gives
// an item's creation sequence and seqOfSID that of a token's SID (ok false
// when unknown). Positions come from the creation sequence, not from
// indexes in items, so a page token stays right when records were added or
// changed status in between.
func paginate[T any](p page, items []T, sidOf func(T) string, seqOf func(T) int, seqOfSID func(string) (int, bool)) ([]T, listMeta, *apiError) {
	from, to := p.number*p.size, p.number*p.size+p.size
	if p.token != "" {
		seq, ok := seqOfSID(p.token[2:])
		if !ok {
			return nil, listMeta{}, badRequest(CodeBadRequest, "Invalid PageToken")
		}
		if strings.HasPrefix(p.token, "PA") {
			// The first item older than the token's.
			from = len(items)
			for i, it := range items {
				if seqOf(it) < seq {
					from = i
					break
				}
			}
			to = from + p.size
		} else {
			// The size items just newer than the token's.
			to = len(items)
			for i, it := range items {
				if seqOf(it) <= seq {
					to = i
					break
				}
			}
			from = max(to-p.size, 0)
		}
	}
	from, to = min(from, len(items)), min(to, len(items))
	out := items[from:to]
	meta := listMeta{
		FirstPageURI: p.uri(0, ""),
		URI:          p.uri(p.number, p.token),
		PageSize:     p.size,
		Page:         p.number,
		Start:        p.number * p.size,
	}
	meta.End = meta.Start + max(len(out)-1, 0)
	if to < len(items) && len(out) > 0 {
		next := p.uri(p.number+1, "PA"+sidOf(out[len(out)-1]))
		meta.NextPageURI = &next
	}
	if p.number > 0 && from > 0 && len(out) > 0 {
		prev := p.uri(p.number-1, "PB"+sidOf(out[0]))
		meta.PreviousPageURI = &prev
	}
	return out, meta, nil
}

// dayFilter is Twilio's day-granular date filter: Key=day, Key<=day
// (written "Key<") and Key>=day ("Key>"), days in UTC. A record without the
// date never matches a filter that is set.
type dayFilter struct {
	on, notAfter, notBefore time.Time
}

func parseDayFilter(q url.Values, key string, keep *[]param) (dayFilter, *apiError) {
	var f dayFilter
	for _, c := range []struct {
		suffix string
		dst    *time.Time
	}{{"", &f.on}, {"<", &f.notAfter}, {">", &f.notBefore}} {
		v := q.Get(key + c.suffix)
		if v == "" {
			continue
		}
		d, ok := parseDay(v)
		if !ok {
			return f, badRequest(CodeBadRequest, "%s%s must be a date such as 2024-04-30", key, c.suffix)
		}
		*c.dst = d
		*keep = append(*keep, param{key + c.suffix, v})
	}
	return f, nil
}

// parseDay reads YYYY-MM-DD, or an RFC 3339 time (as twilio-go sends),
// keeping only its day in UTC.
func parseDay(v string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	for _, layout := range []string{time.RFC3339, time.RFC1123Z} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

func (f dayFilter) set() bool {
	return !f.on.IsZero() || !f.notAfter.IsZero() || !f.notBefore.IsZero()
}

func (f dayFilter) match(t time.Time) bool {
	if !f.set() {
		return true
	}
	if t.IsZero() {
		return false
	}
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return (f.on.IsZero() || day.Equal(f.on)) &&
		(f.notAfter.IsZero() || !day.After(f.notAfter)) &&
		(f.notBefore.IsZero() || !day.Before(f.notBefore))
}

// keepString records an exact-match filter for the page URIs and returns
// its value.
func keepString(q url.Values, key string, keep *[]param) string {
	v := q.Get(key)
	if v != "" {
		*keep = append(*keep, param{key, v})
	}
	return v
}
