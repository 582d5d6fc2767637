package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// AuditLog is the audit trail. A change's entry is written by the store
// in the same transaction as the change (its outbox); the trail chains it.
type AuditLog interface {
	// Drain chains the entries waiting in the outbox; the server drains
	// right after a change, best effort, and the leader drains the rest.
	Drain(ctx context.Context) (int, error)
	// Append records an action that changes nothing but the trail (an
	// export), before it is carried out: it is not carried out unless
	// recorded.
	Append(ctx context.Context, actor, action, activation, detail string) (tocsin.AuditEntry, error)
	// Count returns how many entries match, and the Before that selects
	// the same ones whatever is appended meanwhile.
	Count(ctx context.Context, f audit.Filter) (int, uint64, error)
	// List returns one page of entries after entry n° after, and the
	// cursor of the next page (0 when none).
	List(ctx context.Context, f audit.Filter, after uint64, limit int) ([]tocsin.AuditEntry, uint64, error)
	// Walk calls fn with every matching entry, oldest first, in bounded
	// memory.
	Walk(ctx context.Context, f audit.Filter, fn func(e *tocsin.AuditEntry) error) error
	// Latest returns the last entries, newest first, and how many the
	// trail holds, in one read.
	Latest(ctx context.Context, limit int) ([]tocsin.AuditEntry, int, error)
	Verify(ctx context.Context) (audit.Result, error)
	// VerifyRecent returns this replica's latest verification if younger
	// than maxAge, else verifies again; with when it ran.
	VerifyRecent(ctx context.Context, maxAge time.Duration) (audit.Result, time.Time, error)
	// Checkpoint signs the head and keeps it outside the store; an
	// export carries it. audit.ErrNoSigningKey when no key is set.
	Checkpoint(ctx context.Context, changedOnly bool) (audit.Checkpoint, error)
}

// Audit listing pages: DefaultAuditLimit entries unless asked, at most
// MaxAuditLimit.
const (
	DefaultAuditLimit = 1000
	MaxAuditLimit     = 5000
)

// auditEntry is the entry of a change, given to the store write that makes
// it. The store stamps it with the time of the write.
func auditEntry(actor, action, detail string) tocsin.AuditEntry {
	return tocsin.AuditEntry{Actor: actor, Action: action, Detail: detail}
}

// auditDrainTimeout bounds the drain that follows a change: the change is
// done and its entry safe in the outbox.
const auditDrainTimeout = 3 * time.Second

// drainAudit chains the entries of the change just made, best effort, so
// that the trail shows them as soon as the change is answered; the leader
// chains what it leaves.
func (s *Server) drainAudit(ctx context.Context) {
	if s.cfg.Audit == nil || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, auditDrainTimeout)
	defer cancel()
	if _, err := s.cfg.Audit.Drain(ctx); err != nil {
		s.log.Warn("audit entries left in the outbox for the leader", "err", err)
	}
}

// recordExport records an export before it is served. An export the trail
// cannot record is refused: the store's error (503 when it does not
// answer) is returned. Then it signs a checkpoint of the head, its own
// entry included, and puts it in the CheckpointHeader of w: the export
// carries the proof of the trail it was taken from. A checkpoint that
// cannot be made is logged, and the export served without it.
func (s *Server) recordExport(ctx context.Context, w http.ResponseWriter, actor, activation, detail string) (*audit.Checkpoint, error) {
	if s.cfg.Audit == nil {
		return nil, nil
	}
	if _, err := s.cfg.Audit.Append(ctx, actor, tocsin.AuditExport, activation, detail); err != nil {
		return nil, err
	}
	c, err := s.cfg.Audit.Checkpoint(ctx, false)
	switch {
	case errors.Is(err, audit.ErrNoSigningKey):
		return nil, nil
	case err != nil:
		s.log.Error("export served without a checkpoint", "err", err)
		return nil, nil
	}
	b, _ := json.Marshal(c)
	w.Header().Set(CheckpointHeader, string(b))
	return &c, nil
}

// CheckpointHeader carries, on every export, the signed checkpoint of the
// trail's head made when the export was recorded (JSON, one line).
const CheckpointHeader = "Tocsin-Audit-Checkpoint"

// parseInstant reads an RFC 3339 instant or a Paris date (2026-03-01,
// meaning local midnight).
func parseInstant(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, tocsin.Paris()); err == nil {
		return t, nil
	}
	return time.Time{}, tocsin.FieldErrorf(tocsin.EInvalid, field, "date %q invalide : AAAA-MM-JJ ou RFC 3339 attendu", v)
}

func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Activation: q.Get("activation")}
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = parseInstant("from", v); err != nil {
			return f, err
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = parseInstant("to", v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// auditPaging reads the limit and after parameters of a listing.
func auditPaging(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	limit = DefaultAuditLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAuditLimit {
			return 0, 0, tocsin.FieldErrorf(tocsin.EInvalid, "limit", "limit %q invalide : un nombre d'entrées de 1 à %d", v, MaxAuditLimit)
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, tocsin.FieldErrorf(tocsin.EInvalid, "after", "after %q invalide : le n° d'une entrée attendu", v)
		}
	}
	return after, limit, nil
}

// NextAuditHeader carries the after of the next page of a listing, in CSV
// as in JSON; it is absent on the last page.
const NextAuditHeader = "Tocsin-Audit-Next"

// listAudit answers GET /api/v1/audit?from=…&to=…&activation=…&limit=…&after=…&format=csv|json,
// one page of entries after entry n° after, with the next page's after
// in "next" and the Tocsin-Audit-Next header. A format asked for
// explicitly is an export, recorded once, on its first page.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Audit == nil {
		return tocsin.Errorf(tocsin.ENotFound, "journal d'audit non disponible")
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	after, limit, err := auditPaging(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return tocsin.FieldErrorf(tocsin.EInvalid, "format", "format %q inconnu : json ou csv", format)
	}
	entries, next, err := s.cfg.Audit.List(r.Context(), f, after, limit)
	if err != nil {
		return err
	}
	var checkpoint *audit.Checkpoint
	if format != "" && !r.URL.Query().Has("after") {
		cp, err := s.recordExport(r.Context(), w, userFrom(r.Context()).Name, f.Activation,
			fmt.Sprintf("export du journal d'audit (%s, à partir du début, par pages de %d entrées)", format, limit))
		if err != nil {
			return err
		}
		checkpoint = cp
	}
	page := auditListing{Entries: entries, Count: len(entries), Checkpoint: checkpoint}
	if next != 0 {
		page.Next = &next
		w.Header().Set(NextAuditHeader, strconv.FormatUint(next, 10))
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="journal-audit.csv"`)
		cw := newAuditCSV(w)
		for i := range entries {
			cw.write(&entries[i])
		}
		cw.Flush()
		return cw.Error()
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// auditListing is one page of the trail as the API gives it.
type auditListing struct {
	Entries []tocsin.AuditEntry `json:"entries"`
	Count   int                 `json:"count"`
	// Next is the after of the next page; absent on the last one.
	Next *uint64 `json:"next,omitempty"`
	// Checkpoint is the signed checkpoint made when an export was
	// recorded, on its first page.
	Checkpoint *audit.Checkpoint `json:"checkpoint,omitempty"`
}

// verifyAudit answers GET /api/v1/audit/verify: 200 with ok true, or 200
// with ok false and the first entry that does not match, or the records
// of the store without their entry (missing); entries written but not
// chained yet are pending and do not fail it.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Audit == nil {
		return tocsin.Errorf(tocsin.ENotFound, "journal d'audit non disponible")
	}
	res, err := s.cfg.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	switch {
	case res.Break != nil:
		s.log.Warn("audit chain broken", "seq", res.Break.Seq, "reason", res.Break.Reason)
	case res.MissingCount > 0:
		s.log.Warn("audit entries missing", "count", res.MissingCount)
	case !res.OK:
		s.log.Warn("audit checkpoints invalid", "lines", res.Anchor.InvalidCount)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// auditCSV writes entries as the audit trail's CSV export, header first.
type auditCSV struct{ *csv.Writer }

func newAuditCSV(w io.Writer) auditCSV {
	cw := csv.NewWriter(w)
	cw.Write([]string{"n°", "horodatage (UTC)", "heure de Paris", "auteur", "action", "activation", "détail", "empreinte précédente", "empreinte"})
	return auditCSV{cw}
}

func (c auditCSV) write(e *tocsin.AuditEntry) error {
	return c.Write([]string{fmt.Sprint(e.Seq), e.At.UTC().Format(time.RFC3339Nano), tocsin.ParisTime(e.At), e.Actor, e.Action,
		e.Activation, e.Detail, e.Prev, e.Hash})
}
