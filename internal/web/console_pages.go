package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// pageSize is how many officials a console page shows at most. A larger
// activation is shown a page at a time, the first to call first, with a
// search made by the server: a page of 35,000 officials would weigh tens
// of megabytes and freeze a phone. Up to pageSize, every official is on
// the page, and one who joins a filter shows without a reload.
const pageSize = 200

// cardPageSize is how many cards of officials to call the calling view
// shows at most: each carries its numbers and the calling forms, and a
// phone scrolls through them.
const cardPageSize = 50

// pager is the window of a long list a console page shows.
type pager struct {
	Page, Pages int
	First, Last int // positions of the officials shown, from 1 (0, 0 for none)
	Total       int // officials in the list, filter and search applied
	Query       string
	Prev, Next  string // links to the pages around, empty at the ends
	Anchor      string // where the links lead on the page
}

// paginate returns the window [lo, hi) of a list of n officials, size a
// page, that the request's ?page= asks for (the last one past the end),
// and its pager.
func paginate(r *http.Request, n, size int, anchor string) (lo, hi int, pg *pager) {
	pages := max(1, (n+size-1)/size)
	page := min(max(1, atoi(r.URL.Query().Get("page"))), pages)
	lo, hi = (page-1)*size, min(n, page*size)
	pg = &pager{Page: page, Pages: pages, First: lo + 1, Last: hi, Total: n, Query: strings.TrimSpace(r.URL.Query().Get("q")), Anchor: anchor}
	if n == 0 {
		pg.First = 0
	}
	link := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		pg.Prev = link(page - 1)
	}
	if page < pages {
		pg.Next = link(page + 1)
	}
	return lo, hi, pg
}

// matchesSearch reports whether an official matches a search already
// folded (fold): a part of their name, commune, INSEE code, role or one
// of their numbers, as written or in national form.
func matchesSearch(o *tocsin.Official, q string) bool {
	if q == "" {
		return true
	}
	if strings.Contains(fold(o.Name), q) || strings.Contains(fold(o.CommuneName), q) || strings.Contains(fold(o.Role), q) ||
		strings.Contains(fold(o.Commune), q) || strings.Contains(fold(o.ID), q) {
		return true
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q)
	if len(digits) < 4 {
		return false
	}
	for _, n := range o.Numbers {
		national := "0" + strings.TrimPrefix(n.E164, "+33")
		if strings.Contains(n.E164, digits) || strings.Contains(national, digits) {
			return true
		}
	}
	return false
}
