package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"html/template"
	"net/http"

	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// IndicatorsFunc computes the module 7 indicators of consecutive months.
type IndicatorsFunc func(ctx context.Context, months []indicator.Month) (indicator.Report, error)

// indicatorMonths reads ?from=2026-01&to=2026-03; each defaults to the
// current Paris month, and to to from.
func (s *Server) indicatorMonths(r *http.Request) ([]indicator.Month, error) {
	from := indicator.MonthOf(s.now())
	if v := r.URL.Query().Get("from"); v != "" {
		m, err := indicator.ParseMonth(v)
		if err != nil {
			return nil, err
		}
		from = m
	}
	to := from
	if v := r.URL.Query().Get("to"); v != "" {
		m, err := indicator.ParseMonth(v)
		if err != nil {
			return nil, err
		}
		to = m
	}
	return indicator.Months(from, to)
}

// indicators answers GET /api/v1/indicators?from=…&to=…&format=json|csv|html.
func (s *Server) indicators(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Indicators == nil {
		return tocsin.Errorf(tocsin.ENotFound, "indicateurs non disponibles")
	}
	months, err := s.indicatorMonths(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "json", "csv", "html":
	default:
		return tocsin.FieldErrorf(tocsin.EInvalid, "format", "format %q inconnu : json, csv ou html", format)
	}
	rep, err := s.cfg.Indicators(r.Context(), months)
	if err != nil {
		return err
	}
	if format != "" && format != "json" {
		if _, err := s.recordExport(r.Context(), w, userFrom(r.Context()).Name, "", "export des indicateurs "+rep.From+" à "+rep.To+" ("+format+")"); err != nil {
			return err
		}
	}
	return writeIndicators(w, rep, format)
}

func writeIndicators(w http.ResponseWriter, rep indicator.Report, format string) error {
	name := "indicateurs-" + rep.From + "-" + rep.To
	switch format {
	case "csv":
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		header, rows := indicator.Table(rep)
		cw.Write(header)
		cw.WriteAll(rows)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w.Write(b.Bytes())
	case "html":
		var b bytes.Buffer
		if err := IndicatorsHTML(&b, rep); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b.Bytes())
	default:
		writeJSON(w, http.StatusOK, rep)
	}
	return nil
}

var indicatorsPage = template.Must(template.New("indicators").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Indicateurs du module 7 — {{.From}} à {{.To}}</title>
<style>body{font-family:Marianne,Arial,sans-serif;margin:2em}table{border-collapse:collapse}
th,td{border:1px solid #666;padding:.4em .6em;text-align:left;vertical-align:top}th{background:#eee}
@media print{body{margin:0}}</style></head><body>
<h1>Indicateurs du module 7 (Qual-e-pref)</h1>
<p>Période : {{.From}} à {{.To}}, mois civils en heure de Paris. Les exercices sont comptés à part.</p>
{{template "table" .}}
</body></html>
{{define "table"}}<table class="fr-table"><thead><tr>{{range .Header}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range $i, $c := .}}{{if eq $i 0}}<th scope="row">{{$c}}</th>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>{{end}}</tbody></table>{{end}}`))

// indicatorsTable is what the indicators' table templates show.
type indicatorsTable struct {
	From, To string
	Header   []string
	Rows     [][]string
}

func newIndicatorsTable(rep indicator.Report) indicatorsTable {
	h, rows := indicator.Table(rep)
	return indicatorsTable{From: rep.From, To: rep.To, Header: h, Rows: rows}
}

// IndicatorsHTML writes the report as a printable HTML page, in the shape
// of the label's table.
func IndicatorsHTML(w *bytes.Buffer, rep indicator.Report) error {
	return indicatorsPage.Execute(w, newIndicatorsTable(rep))
}
