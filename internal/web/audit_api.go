package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// AuditLog is the audit trail.
type AuditLog interface {
	// Record appends an entry; a failure is logged, not returned, since
	// the action it records already happened.
	Record(ctx context.Context, actor, action, activation, detail string)
	Entries(ctx context.Context, f audit.Filter) ([]tocsin.AuditEntry, error)
	Verify(ctx context.Context) (audit.Result, error)
}

// audit records an entry when the server has a trail.
func (s *Server) audit(ctx context.Context, actor, action, activation, detail string) {
	if s.cfg.Audit != nil {
		s.cfg.Audit.Record(ctx, actor, action, activation, detail)
	}
}

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

// listAudit answers GET /api/v1/audit?from=…&to=…&activation=…&format=csv|json.
// A format asked for explicitly is an export, and is itself recorded.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Audit == nil {
		return tocsin.Errorf(tocsin.ENotFound, "journal d'audit non disponible")
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return tocsin.FieldErrorf(tocsin.EInvalid, "format", "format %q inconnu : json ou csv", format)
	}
	entries, err := s.cfg.Audit.Entries(r.Context(), f)
	if err != nil {
		return err
	}
	if format != "" {
		s.audit(r.Context(), userFrom(r.Context()).Name, tocsin.AuditExport, f.Activation,
			fmt.Sprintf("export du journal d'audit (%s, %d entrées)", format, len(entries)))
	}
	if format == "csv" {
		writeAuditCSV(w, entries)
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "count": len(entries)})
	return nil
}

// verifyAudit answers GET /api/v1/audit/verify: 200 with ok true, or 200
// with ok false and the first entry that does not match.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Audit == nil {
		return tocsin.Errorf(tocsin.ENotFound, "journal d'audit non disponible")
	}
	res, err := s.cfg.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	if !res.OK {
		s.log.Warn("audit chain broken", "seq", res.Break.Seq, "reason", res.Break.Reason)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// writeAuditCSV writes entries as the audit trail's CSV export.
func writeAuditCSV(w http.ResponseWriter, entries []tocsin.AuditEntry) {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"n°", "horodatage (UTC)", "heure de Paris", "auteur", "action", "activation", "détail", "empreinte précédente", "empreinte"})
	for _, e := range entries {
		cw.Write([]string{fmt.Sprint(e.Seq), e.At.UTC().Format(time.RFC3339Nano), tocsin.ParisTime(e.At), e.Actor, e.Action,
			e.Activation, e.Detail, e.Prev, e.Hash})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="journal-audit.csv"`)
	w.Write(b.Bytes())
}
