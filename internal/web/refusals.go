package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Actions refused to users (403: a role that does not allow the action, a
// missing or stale security token, another origin) are recorded in the
// audit trail, within bounds, so that a flood of refused requests cannot
// grow it without limit: in each window, at most RefusalsPerWho entries
// for one user or address and RefusalsPerWindow in all; the refusals past
// them are counted, and one entry gives the count when the window ends.
const (
	RefusalWindow     = 10 * time.Minute
	RefusalsPerWho    = 5
	RefusalsPerWindow = 50
	// maxRefusers bounds the users and addresses counted in a window;
	// past it, the others are counted together.
	maxRefusers = 1000
)

// maxRefusedPath bounds the path a refusal's entry quotes.
const maxRefusedPath = 200

// refusalAppendTimeout bounds the append of a refusal's entry: the
// refusal is answered whatever becomes of it.
const refusalAppendTimeout = 2 * time.Second

// refusals counts the refusals of the current window.
type refusals struct {
	mu       sync.Mutex
	start    time.Time      // the window's start; zero before the first refusal
	seen     map[string]int // refusals recorded one by one, by who
	recorded int            // entries in the window, in all
	counted  map[string]int // refusals past the bounds, by who
	over     int            // their total
}

// refusal is what recordRefusal decided under the lock.
type refusal struct {
	record  bool   // record this refusal as an entry
	summary string // the previous window's summary, when one is due
}

// take counts a refusal by who at now.
func (rs *refusals) take(who string, now time.Time) refusal {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	d := refusal{summary: rs.rollLocked(now)}
	if rs.seen[who] < RefusalsPerWho && rs.recorded < RefusalsPerWindow {
		rs.seen[who]++
		rs.recorded++
		d.record = true
		return d
	}
	if _, ok := rs.counted[who]; !ok && len(rs.counted) >= maxRefusers {
		who = "autres"
	}
	rs.counted[who]++
	rs.over++
	return d
}

// roll ends the window if it is over, and returns its summary.
func (rs *refusals) roll(now time.Time) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.rollLocked(now)
}

func (rs *refusals) rollLocked(now time.Time) string {
	if !rs.start.IsZero() && now.Sub(rs.start) < RefusalWindow {
		return ""
	}
	summary := ""
	if rs.over > 0 {
		whos := make([]string, 0, len(rs.counted))
		for w := range rs.counted {
			whos = append(whos, w)
		}
		slices.SortFunc(whos, func(a, b string) int { return rs.counted[b] - rs.counted[a] })
		var parts []string
		for i, w := range whos {
			if i == 10 {
				parts = append(parts, fmt.Sprintf("et %d autres", len(whos)-10))
				break
			}
			parts = append(parts, fmt.Sprintf("%s : %d", w, rs.counted[w]))
		}
		summary = fmt.Sprintf("%d autres actions refusées, non détaillées une à une, du %s au %s (heure de Paris) : %s",
			rs.over, tocsin.ParisTime(rs.start), tocsin.ParisTime(rs.start.Add(RefusalWindow)), strings.Join(parts, ", "))
	}
	rs.start, rs.seen, rs.recorded, rs.counted, rs.over = now, map[string]int{}, 0, map[string]int{}, 0
	return summary
}

// recordRefusal records in the audit trail that r was refused to actor
// (empty when not known: a visitor, then named by address), with the
// reason, within the bounds.
// The refusal is answered whether or not the entry could be appended.
func (s *Server) recordRefusal(r *http.Request, actor string, reason error) {
	if s.cfg.Audit == nil {
		return
	}
	addr := s.clientIP(r)
	who := actor
	if who == "" {
		who = "adresse " + addr
	}
	d := s.refused.take(who, s.now())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refusalAppendTimeout)
	defer cancel()
	s.appendRefusalSummary(ctx, d.summary)
	if !d.record {
		return
	}
	path := r.URL.Path
	if len(path) > maxRefusedPath {
		path = strings.ToValidUTF8(path[:maxRefusedPath], "") + "…"
	}
	detail := fmt.Sprintf("%s %s refusé : %s (adresse %s)", r.Method, path, tocsin.ErrorMessage(reason), addr)
	if _, err := s.cfg.Audit.Append(ctx, who, tocsin.AuditRefused, "", detail); err != nil {
		s.log.Warn("refused action not recorded in the audit trail", "path", r.URL.Path, "err", err)
	}
}

func (s *Server) appendRefusalSummary(ctx context.Context, summary string) {
	if summary == "" {
		return
	}
	if _, err := s.cfg.Audit.Append(ctx, "tocsin", tocsin.AuditRefused, "", summary); err != nil {
		s.log.Warn("summary of refused actions not recorded in the audit trail", "err", err)
	}
}

// flushRefusals records the summary of a window that ended without a
// refusal after it, every RefusalWindow, until ctx ends.
func (s *Server) flushRefusals(ctx context.Context) {
	t := time.NewTicker(RefusalWindow)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.FlushRefusals(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// FlushRefusals records the summary of the refusals past the bounds when
// their window is over.
func (s *Server) FlushRefusals(ctx context.Context) {
	if s.cfg.Audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, refusalAppendTimeout)
	defer cancel()
	s.appendRefusalSummary(ctx, s.refused.roll(s.now()))
}
