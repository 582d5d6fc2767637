package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// ExerciseCalendar is what the console shows of scheduled exercises.
type ExerciseCalendar struct {
	Next []time.Time // the next scheduled runs, UTC
	Runs []tocsin.ExerciseRun
	// Playbook is the playbook a due exercise launches; "" when the duty
	// officer launches it.
	Playbook string
	// Awaiting are the runs left to the duty officer and not launched yet.
	Awaiting []tocsin.ExerciseRun
}

// ExercisesFunc returns the exercise calendar.
type ExercisesFunc func(ctx context.Context) (ExerciseCalendar, error)

// maxAuditRows bounds the entries the journal page shows; exports hold all.
const maxAuditRows = 200

// indicatorsBody is what the indicators page shows.
type indicatorsBody struct {
	From, To string
	Table    indicatorsTable
	// Open are the activations of the months still open, which the
	// history export leaves out unless asked.
	Open []string
}

// indicatorsView shows the module 7 indicators of a range of months.
func (c *console) indicatorsView(w http.ResponseWriter, r *http.Request, p *pageData) error {
	rep, err := c.indicatorReport(r)
	if err != nil {
		return err
	}
	p.Title, p.Nav = "Indicateurs du module 7", "indicateurs"
	b := indicatorsBody{From: rep.From, To: rep.To, Table: newIndicatorsTable(rep)}
	for _, m := range rep.Months {
		for _, r := range append(slices.Clone(m.Real.Results), m.Exercise.Results...) {
			if r.Open {
				b.Open = append(b.Open, r.ID)
			}
		}
	}
	p.Body = b
	c.render(w, r, http.StatusOK, "indicateurs", p)
	return nil
}

func (c *console) indicatorReport(r *http.Request) (indicator.Report, error) {
	if c.cfg.Indicators == nil {
		return indicator.Report{}, tocsin.Errorf(tocsin.ENotFound, "indicateurs non disponibles")
	}
	months, err := c.srv.indicatorMonths(r)
	if err != nil {
		return indicator.Report{}, err
	}
	return c.cfg.Indicators(r.Context(), months)
}

// indicatorsExport sends the indicators as CSV, JSON or a printable page;
// the export is recorded in the audit trail.
func (c *console) indicatorsExport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" && format != "html" {
		return tocsin.FieldErrorf(tocsin.EInvalid, "format", "format %q inconnu : csv, json ou html", format)
	}
	rep, err := c.indicatorReport(r)
	if err != nil {
		return err
	}
	if _, err := c.srv.recordExport(r.Context(), w, p.User.User, "", "export des indicateurs "+rep.From+" à "+rep.To+" ("+format+")"); err != nil {
		return err
	}
	if format == "json" {
		w.Header().Set("Content-Disposition", `attachment; filename="indicateurs-`+rep.From+"-"+rep.To+`.json"`)
	}
	return writeIndicators(w, rep, format)
}

// historyExport downloads the activations of the months shown, in the
// history format (docs/history.md).
func (c *console) historyExport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	return c.srv.writeHistory(w, r, p.User.User)
}

// auditRow is one entry of the journal page.
type auditRow struct {
	tocsin.AuditEntry
	AtParis string
	Hash    string // shortened
}

// auditBody is what the journal page shows.
type auditBody struct {
	Activation, From, To string
	Rows                 []auditRow
	Total                int
	Verified             audit.Result
	// VerifiedAt is when Verified ran (Paris time): the page shows the
	// latest verification of this replica, at most verifyMaxAge old,
	// unless asked to verify now (?verifier=1).
	VerifiedAt string
}

// verifyMaxAge is how old a verification the journal page may show: a
// verification reads the whole trail and what it accounts for, too much
// for every opening of the page during an activation of thousands.
const verifyMaxAge = time.Minute

// auditPage shows the latest audit entries, filtered, and the chain's
// verification. Unfiltered, it reads only the rows it shows; filtered, it
// walks the trail page by page and keeps only those.
func (c *console) auditPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if c.cfg.Audit == nil {
		return tocsin.Errorf(tocsin.ENotFound, "journal d'audit non disponible")
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	var latest []tocsin.AuditEntry // newest first
	total := 0
	if f == (audit.Filter{}) {
		if latest, total, err = c.cfg.Audit.Latest(r.Context(), maxAuditRows); err != nil {
			return err
		}
	} else {
		ring := make([]tocsin.AuditEntry, 0, maxAuditRows) // the last rows
		err = c.cfg.Audit.Walk(r.Context(), f, func(e *tocsin.AuditEntry) error {
			if len(ring) < maxAuditRows {
				ring = append(ring, *e)
			} else {
				ring[total%maxAuditRows] = *e
			}
			total++
			return nil
		})
		if err != nil {
			return err
		}
		for i := range ring {
			latest = append(latest, ring[(total-1-i)%len(ring)])
		}
	}
	maxAge := verifyMaxAge
	q := r.URL.Query()
	if q.Get("verifier") != "" {
		maxAge = 0
	}
	res, at, err := c.cfg.Audit.VerifyRecent(r.Context(), maxAge)
	if err != nil {
		return err
	}
	b := auditBody{Activation: f.Activation, From: q.Get("from"), To: q.Get("to"), Total: total, Verified: res,
		VerifiedAt: at.In(tocsin.Paris()).Format("15:04:05")}
	for _, e := range latest {
		short := e.Hash
		if len(short) > 12 {
			short = short[:12] + "…"
		}
		b.Rows = append(b.Rows, auditRow{AuditEntry: e, AtParis: tocsin.ParisTime(e.At), Hash: short})
	}
	p.Title, p.Nav, p.Body = "Journal d'audit", "journal", b
	c.render(w, r, http.StatusOK, "journal", p)
	return nil
}

// auditExport streams the filtered audit entries as CSV or JSON, page by
// page; the export is itself recorded.
func (c *console) auditExport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if c.cfg.Audit == nil {
		return tocsin.Errorf(tocsin.ENotFound, "journal d'audit non disponible")
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		return tocsin.FieldErrorf(tocsin.EInvalid, "format", "format %q inconnu : csv ou json", format)
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	// The export is recorded before it is served, with the number of
	// entries it holds: counted first, then streamed up to the same entry,
	// so that it holds neither its own entry nor any appended meanwhile.
	n, before, err := c.cfg.Audit.Count(r.Context(), f)
	if err != nil {
		return err
	}
	checkpoint, err := c.srv.recordExport(r.Context(), w, p.User.User, f.Activation, fmt.Sprintf("export du journal d'audit (%s, %d entrées)", format, n))
	if err != nil {
		return err
	}
	f.Before = before
	// The answer starts before the walk ends: an error met on the way can
	// only cut it short, and is logged.
	w.Header().Set("Content-Disposition", `attachment; filename="journal-audit.`+format+`"`)
	n = 0
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := newAuditCSV(w)
		err = c.cfg.Audit.Walk(r.Context(), f, func(e *tocsin.AuditEntry) error {
			n++
			return cw.write(e)
		})
		cw.Flush()
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"entries":[`)
		enc := json.NewEncoder(w)
		err = c.cfg.Audit.Walk(r.Context(), f, func(e *tocsin.AuditEntry) error {
			if n > 0 {
				io.WriteString(w, ",")
			}
			n++
			return enc.Encode(e)
		})
		fmt.Fprintf(w, `],"count":%d`, n)
		if checkpoint != nil {
			b, _ := json.Marshal(checkpoint)
			fmt.Fprintf(w, `,"checkpoint":%s`, b)
		}
		io.WriteString(w, "}\n")
	}
	if err != nil {
		c.srv.log.Error("audit export cut short", "err", err)
	}
	return nil
}

// exerciseRow is one exercise activation on the exercises page, scheduled
// or launched by hand.
type exerciseRow struct {
	card
	Retex *tocsin.Retex
}

// exercisesBody is what the exercises page shows.
type exercisesBody struct {
	exerciseSchedule
	Held []exerciseRow // every exercise activation, latest first
}

// runStatusLabel names a run's status in French.
func runStatusLabel(s string) string {
	switch s {
	case tocsin.RunLaunched:
		return "lancé"
	case tocsin.RunNotified:
		return "à lancer par l'officier de permanence"
	case tocsin.RunMissed:
		return "manqué"
	case tocsin.RunFailed:
		return "échec du lancement"
	case tocsin.RunClaimed:
		return "lancement interrompu"
	case tocsin.RunFulfilled:
		return "tenu hors de Tocsin (historique importé)"
	case tocsin.RunNotHeld:
		return "non tenu (historique importé)"
	case tocsin.RunUnrecorded:
		return "non tenu : dû avant la mise en service de Tocsin, aucun exercice enregistré"
	}
	return s
}

// parisDate formats an instant as a date and time in Paris.
func parisDate(t time.Time) string {
	return t.In(tocsin.Paris()).Format("02/01/2006 à 15:04")
}

// exercisesPage shows the next scheduled exercises, the past runs and the
// missed ones.
func (c *console) exercisesPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	var b exercisesBody
	if c.cfg.Exercises != nil {
		cal, err := c.srv.exerciseCalendar(r)
		if err != nil {
			return err
		}
		b.exerciseSchedule = cal
	}
	vs, err := c.cfg.Activations.List(r.Context())
	if err != nil {
		return err
	}
	retexes, err := c.cfg.Retexes.Retexes(r.Context())
	if err != nil {
		return err
	}
	now := c.now()
	for i := range vs {
		if !vs[i].Exercise {
			continue
		}
		row := exerciseRow{card: newCard(&vs[i], now)}
		if rx, ok := retexes[vs[i].ID]; ok {
			row.Retex = &rx
		}
		b.Held = append(b.Held, row)
	}
	p.Title, p.Nav, p.Body = "Exercices", "exercices", b
	c.render(w, r, http.StatusOK, "exercices", p)
	return nil
}

// exerciseDue is the dashboard's alert about scheduled exercises left to
// the duty officer and not launched yet.
type exerciseDue struct {
	Dates []string // due dates, Paris time, oldest first
	Link  string   // the launch form, in exercise mode, its playbook chosen when known
}

// dashboardReports adds the current month's indicators, the next
// exercises, and the alert about an exercise to launch to the dashboard.
func (c *console) dashboardReports(r *http.Request, b *dashboardBody) error {
	if c.cfg.Indicators != nil {
		rep, err := c.cfg.Indicators(r.Context(), []indicator.Month{indicator.MonthOf(c.now())})
		if err != nil {
			return err
		}
		t := newIndicatorsTable(rep)
		b.Month = &t
	}
	if c.cfg.Exercises != nil {
		cal, err := c.cfg.Exercises(r.Context())
		if err != nil {
			return err
		}
		for _, t := range cal.Next[:min(2, len(cal.Next))] {
			b.Next = append(b.Next, parisDate(t))
		}
		if len(cal.Awaiting) > 0 {
			b.ExerciseDue = &exerciseDue{Link: "/activations/nouvelle?" + c.exerciseLaunchQuery(cal.Playbook)}
			for _, run := range cal.Awaiting {
				b.ExerciseDue.Dates = append(b.ExerciseDue.Dates, parisDate(run.Due))
			}
		}
	}
	return nil
}

// exerciseLaunchQuery preselects exercise mode on the launch form, and the
// exercise playbook: the configured one, or else the only playbook meant
// for exercises.
func (c *console) exerciseLaunchQuery(configured string) string {
	q := url.Values{"mode": {"exercice"}}
	if configured != "" {
		q.Set("scenario", configured)
		return q.Encode()
	}
	var only []string
	for _, pb := range c.cfg.Playbooks() {
		if pb.Exercise {
			only = append(only, pb.ID)
		}
	}
	if len(only) == 1 {
		q.Set("scenario", only[0])
	}
	return q.Encode()
}
