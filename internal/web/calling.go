package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The API of the calls made by hand: what the calling view does.

// claimRecipient takes an official to call (« J'appelle »): 409 with who
// holds them when another officer does.
func (s *Server) claimRecipient(w http.ResponseWriter, r *http.Request) error {
	rc, err := s.cfg.Calls.Claim(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("official"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

// releaseRecipient lets go an official the caller holds.
func (s *Server) releaseRecipient(w http.ResponseWriter, r *http.Request) error {
	rc, err := s.cfg.Calls.Release(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("official"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

// logCall records a call by hand that did not inform: {"outcome":
// "no-answer" | "voicemail" | "wrong-number" | "other", "number", "note"}.
func (s *Server) logCall(w http.ResponseWriter, r *http.Request) error {
	var req activation.CallRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rc, err := s.cfg.Calls.LogCall(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("official"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

// rushRecipient brings an official's next rung forward to now; 409 when
// every automatic rung has started for them.
func (s *Server) rushRecipient(w http.ResponseWriter, r *http.Request) error {
	rc, err := s.cfg.Rushes.Rush(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("official"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

// rushAll brings forward the next rung of every official not informed.
func (s *Server) rushAll(w http.ResponseWriter, r *http.Request) error {
	n, err := s.cfg.Rushes.RushAll(r.Context(), userFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"rushed": n})
	return nil
}

// toCall lists the officials on the « à appeler » list, those to call
// first first, with their numbers, their deputies', who calls them and
// every attempt; ?format=csv gives it as CSV, the paper list for when
// the network goes.
func (s *Server) toCall(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return tocsin.FieldErrorf(tocsin.EInvalid, "format", "format « %s » inconnu : json ou csv", format)
	}
	v, rows, err := s.callRows(r)
	if err != nil {
		return err
	}
	if format == "csv" {
		if err := s.recordCallExport(w, r, v.ID, len(rows)); err != nil {
			return err
		}
		return writeCallCSV(w, v, rows)
	}
	writeJSON(w, http.StatusOK, map[string]any{"activation": v.ID, "count": len(rows), "officials": rows})
	return nil
}

// callRows reads the activation of the request's path and its officials
// on the « à appeler » list, those to call first first.
func (s *Server) callRows(r *http.Request) (*activation.View, []row, error) {
	v, err := s.cfg.Activations.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	rows := []row{}
	if v.State == tocsin.Open {
		for _, w := range callList(&v.Activation, v.Recipients, s.now(), userFrom(r.Context()).Name) {
			if w.Manual {
				rows = append(rows, w)
			}
		}
	}
	return v, rows, nil
}

// recordCallExport records the export of the « à appeler » list, which
// holds officials' numbers, before it is served; w carries its signed
// checkpoint.
func (s *Server) recordCallExport(w http.ResponseWriter, r *http.Request, activation string, n int) error {
	_, err := s.recordExport(r.Context(), w, userFrom(r.Context()).Name, activation,
		fmt.Sprintf("export de la liste « à appeler » (csv, %d élus)", n))
	return err
}

// writeCallCSV writes the « à appeler » list as CSV, one official a line.
func writeCallCSV(w http.ResponseWriter, v *activation.View, rows []row) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="a-appeler-`+v.ID+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"élu", "rôle", "commune", "statut", "numéros", "suppléants", "appelé par", "tentatives"})
	for _, x := range rows {
		var own, deputies []string
		for _, d := range x.Dials {
			if d.Who == "" {
				own = append(own, d.Display+" ("+d.Kind+")")
			} else {
				deputies = append(deputies, d.Who+" : "+d.Display+" ("+d.Kind+")")
			}
		}
		by := ""
		if x.Claim != nil {
			by = x.Claim.By + " depuis " + x.Claim.At
		}
		cw.Write([]string{x.Name, x.Role, x.Commune, x.StatusLabel, strings.Join(own, " ; "), strings.Join(deputies, " ; "), by, strings.Join(x.History, " ; ")})
	}
	cw.Flush()
	return cw.Error()
}
