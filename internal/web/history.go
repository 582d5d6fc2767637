package web

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/history"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// History imports and exports the history of activations
// (docs/history.md).
type History interface {
	ImportHistory(ctx context.Context, by tocsin.User, file string, r io.Reader) (*activation.ImportResult, error)
	// History returns the records of the activations of [from, to); those
	// still open are left out, and named, unless withOpen.
	History(ctx context.Context, from, to time.Time, withOpen bool) (recs []history.Record, leftOut []string, err error)
}

// maxHistory bounds a history file: tens of thousands of activations.
const maxHistory = 64 << 20

// importHistory answers POST /api/v1/history?file=NAME, a JSON Lines body:
// 200 with the counts, or 422 with every line error and nothing imported.
func (s *Server) importHistory(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.History == nil {
		return tocsin.Errorf(tocsin.ENotFound, "historique non disponible")
	}
	res, err := s.cfg.History.ImportHistory(r.Context(), userFrom(r.Context()), fileName(r.URL.Query().Get("file")),
		http.MaxBytesReader(w, r.Body, maxHistory))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		return tocsin.Errorf(tocsin.EInvalid, "fichier trop grand : %d Mio au plus, découpez-le", maxHistory>>20)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// fileName keeps the base name of an uploaded file, on one line, bounded.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(strings.TrimSpace(name), `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	return name
}

// LeftOutHeader names, comma-separated, the activations of a history
// export's range left out because they are still open.
const LeftOutHeader = "X-Tocsin-Left-Out"

// exportHistory answers GET /api/v1/history?from=…&to=…[&include_open=true]
// with JSON Lines: every closed activation whose activated_at is in the
// range, oldest first, and the open ones too with include_open; those left
// out are named in LeftOutHeader. The export is recorded in the audit
// trail.
func (s *Server) exportHistory(w http.ResponseWriter, r *http.Request) error {
	return s.writeHistory(w, r, userFrom(r.Context()).Name)
}

// writeHistory writes the history export asked for by r, for user.
func (s *Server) writeHistory(w http.ResponseWriter, r *http.Request, user string) error {
	if s.cfg.History == nil {
		return tocsin.Errorf(tocsin.ENotFound, "historique non disponible")
	}
	from, to, label, err := historyRange(r.URL.Query())
	if err != nil {
		return err
	}
	withOpen := false
	if v := r.URL.Query().Get("include_open"); v != "" {
		if withOpen, err = strconv.ParseBool(v); err != nil {
			return tocsin.FieldErrorf(tocsin.EInvalid, "include_open", "%q invalide : true pour exporter aussi les activations en cours, false sinon", v)
		}
	}
	recs, leftOut, err := s.cfg.History.History(r.Context(), from, to, withOpen)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for i := range recs {
		line, err := history.Encode(&recs[i])
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	detail := fmt.Sprintf("export de l'historique (%s, %d activations", label, len(recs))
	switch {
	case len(leftOut) > 0:
		detail += fmt.Sprintf(" ; %d en cours non exportées : %s", len(leftOut), strings.Join(leftOut, ", "))
	case withOpen:
		detail += ", en cours comprises"
	}
	if _, err := s.recordExport(r.Context(), w, user, "", detail+")"); err != nil {
		return err
	}
	if len(leftOut) > 0 {
		w.Header().Set(LeftOutHeader, strings.Join(leftOut, ","))
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="historique-`+strings.NewReplacer(" ", "", ":", "").Replace(label)+`.jsonl"`)
	w.Write(b.Bytes())
	return nil
}

// historyRange reads ?from= and ?to=: Paris months (2026-01, to included)
// or RFC 3339 instants (to excluded); a bound left out is open.
func historyRange(q url.Values) (from, to time.Time, label string, err error) {
	read := func(field string) (time.Time, error) {
		v := q.Get(field)
		if v == "" {
			return time.Time{}, nil
		}
		if m, err := indicator.ParseMonth(v); err == nil {
			if field == "to" {
				return m.End(), nil
			}
			return m.Start(), nil
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
		return time.Time{}, tocsin.FieldErrorf(tocsin.EInvalid, field, "%q invalide : un mois AAAA-MM (heure de Paris) ou un horodatage RFC 3339 avec décalage", v)
	}
	if from, err = read("from"); err != nil {
		return
	}
	if to, err = read("to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, "", tocsin.Errorf(tocsin.EInvalid, "période vide : to est avant from")
	}
	label = cmp.Or(q.Get("from"), "début") + "_" + cmp.Or(q.Get("to"), "fin")
	return from, to, label, nil
}
