package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/playbook"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// maxListed bounds the directory rows a page shows: a search narrows it.
const maxListed = 200

type officialView struct {
	ID, Name, Role, Commune, INSEE, Arrondissement string
	Dials                                          []dial
	Deputies                                       []string
}

type directoryBody struct {
	Query    string
	Total    int
	Matched  int
	Listed   []officialView
	Imported int
	Errors   []string
	Error    string
	// Fixed names the official whose numbers were just corrected, and
	// in how many open activations.
	Fixed       string
	FixedIn     int
	CanFixInput bool
}

func (c *console) directory(w http.ResponseWriter, r *http.Request, p *pageData) error {
	q := r.URL.Query()
	b := directoryBody{Query: strings.TrimSpace(q.Get("q")), Fixed: q.Get("corrige")}
	b.Imported, _ = strconv.Atoi(q.Get("importe"))
	b.FixedIn, _ = strconv.Atoi(q.Get("activations"))
	return c.showDirectory(w, r, p, http.StatusOK, b)
}

// fixNumbersForm corrects one official's numbers, in the directory and in
// the open activations (a wrong number reported during a crisis).
func (c *console) fixNumbersForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("official")
	numbers, err := c.cfg.ParseNumbers(splitNumbers(r.FormValue("mobile")), splitNumbers(r.FormValue("fixe")))
	if err == nil {
		var res *activation.FixResult
		if res, err = c.cfg.Fixes.FixNumbers(r.Context(), userFrom(r.Context()), id, numbers); err == nil {
			http.Redirect(w, r, fmt.Sprintf("/annuaire?q=%s&corrige=%s&activations=%d", url.QueryEscape(id), url.QueryEscape(id), len(res.Activations)), http.StatusSeeOther)
			return nil
		}
	}
	if code := tocsin.ErrorCode(err); code != tocsin.EInvalid && code != tocsin.ENotFound {
		return err
	}
	b := directoryBody{Query: id, Error: "Les numéros de " + id + " n'ont pas été corrigés : " + tocsin.ErrorMessage(err)}
	return c.showDirectory(w, r, p, http.StatusBadRequest, b)
}

// splitNumbers reads the numbers of a form field: one a line, or
// separated by « , », « ; » or « | ».
func splitNumbers(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' || r == '|' })
}

func (c *console) showDirectory(w http.ResponseWriter, r *http.Request, p *pageData, status int, b directoryBody) error {
	officials, err := c.cfg.Store.Officials(r.Context())
	if err != nil {
		return err
	}
	names := make(map[string]string, len(officials))
	for _, o := range officials {
		names[o.ID] = o.Name
	}
	b.Total = len(officials)
	b.CanFixInput = c.cfg.Fixes != nil && p.IsAdmin()
	q := fold(b.Query)
	for _, o := range officials {
		if q != "" && !strings.Contains(fold(strings.Join([]string{o.ID, o.Name, o.Role, o.Commune, o.CommuneName, o.Arrondissement}, " ")), q) {
			continue
		}
		b.Matched++
		if len(b.Listed) >= maxListed {
			continue
		}
		v := officialView{ID: o.ID, Name: o.Name, Role: o.Role, Commune: o.CommuneName, INSEE: o.Commune, Arrondissement: o.Arrondissement}
		for _, n := range o.Numbers {
			v.Dials = append(v.Dials, dial{E164: n.E164, Display: displayNumber(n.E164), Kind: kindLabel(n.Kind)})
		}
		for _, d := range o.Deputies {
			if name := names[d]; name != "" {
				v.Deputies = append(v.Deputies, name)
			} else {
				v.Deputies = append(v.Deputies, d)
			}
		}
		b.Listed = append(b.Listed, v)
	}
	p.Title, p.Nav, p.Body = "Annuaire des élus", "annuaire", b
	c.render(w, r, status, "annuaire", p)
	return nil
}

// importDirectory replaces the directory with an uploaded CSV, all or
// nothing: any error leaves the directory as it was and lists every
// problem with its line and column.
func (c *console) importDirectory(w http.ResponseWriter, r *http.Request, p *pageData) error {
	file, _, err := r.FormFile("fichier")
	if err != nil {
		return c.showDirectory(w, r, p, http.StatusBadRequest, directoryBody{Error: "Choisissez un fichier CSV à importer."})
	}
	defer file.Close()
	officials, err := c.cfg.ParseOfficials(file)
	if err != nil {
		if tocsin.ErrorCode(err) != tocsin.EInvalid {
			return err
		}
		b := directoryBody{Error: "Le fichier n'a pas été importé : corrigez les erreurs ci-dessous. L'annuaire en vigueur n'a pas changé."}
		if l, ok := err.(*tocsin.ListError); ok {
			for _, e := range l.Errs {
				b.Errors = append(b.Errors, strings.TrimPrefix(e.Field+" : "+e.Message, " : "))
			}
		} else {
			b.Errors = []string{strings.TrimPrefix(tocsin.ErrorField(err)+" : "+tocsin.ErrorMessage(err), " : ")}
		}
		return c.showDirectory(w, r, p, http.StatusBadRequest, b)
	}
	if err := c.cfg.Store.ReplaceOfficials(r.Context(), officials,
		auditEntry(p.User.User, tocsin.AuditImport, fmt.Sprintf("annuaire importé depuis la console : %d élus", len(officials)))); err != nil {
		return err
	}
	c.srv.log.Info("directory imported", "officials", len(officials), "by", p.User.User)
	c.srv.drainAudit(r.Context())
	http.Redirect(w, r, fmt.Sprintf("/annuaire?importe=%d", len(officials)), http.StatusSeeOther)
	return nil
}

// playbookView is a playbook in words.
type playbookView struct {
	ID, Title, File, Deadline, Message string
	// Example is the message as a mayor of Dieppe receives it, with the
	// duty officer's free text in ExampleNote; empty if it cannot render.
	Example, ExampleNote string
	Exercise             bool
	Audience             []string
	Ladder               []rungView
}

type rungView struct {
	After, Channel, Targets string
	Retries                 int
}

var targetLabels = map[tocsin.Target]string{
	tocsin.TargetMobile: "mobiles", tocsin.TargetLandline: "fixes", tocsin.TargetDeputies: "suppléants",
}

// exampleNote is the free text the scenarios' example messages show.
const exampleNote = "Point de situation à 16 h en préfecture."

// newPlaybookView words a playbook; communes names the communes of the
// directory by INSEE code (nil: codes only).
func newPlaybookView(pb *tocsin.Playbook, communes map[string]string) playbookView {
	v := playbookView{ID: pb.ID, Title: pb.Title, File: pb.File, Deadline: tocsin.FormatDuration(pb.Deadline), Message: pb.Message, Exercise: pb.Exercise}
	if ex, err := playbook.Example(pb, exampleNote); err == nil {
		v.Example, v.ExampleNote = ex, exampleNote
	}
	a := pb.Audience
	if a.Everyone {
		v.Audience = append(v.Audience, "tous les élus de l'annuaire")
	}
	if len(a.Arrondissements) > 0 {
		v.Audience = append(v.Audience, "arrondissements : "+strings.Join(a.Arrondissements, ", "))
	}
	if len(a.Communes) > 0 {
		named := make([]string, len(a.Communes))
		for i, code := range a.Communes {
			named[i] = code
			if name := communes[code]; name != "" {
				named[i] = name + " (" + code + ")"
			}
		}
		v.Audience = append(v.Audience, fmt.Sprintf("%d communes : %s", len(a.Communes), strings.Join(named, ", ")))
	}
	if w := a.Within; w != nil {
		place := w.Label
		if place == "" {
			place = fmt.Sprintf("%.3f, %.3f", w.Lat, w.Lon)
		}
		v.Audience = append(v.Audience, fmt.Sprintf("à moins de %g km de %s", w.Km, place))
	}
	if len(a.Roles) > 0 {
		v.Audience = append(v.Audience, "fonctions : "+strings.Join(a.Roles, ", "))
	}
	ladder := pb.Ladder
	if len(ladder) == 0 {
		ladder = tocsin.DefaultLadder
	}
	for _, rung := range ladder {
		var ts []string
		for _, t := range rung.Targets {
			if l, ok := targetLabels[t]; ok {
				ts = append(ts, l)
			} else {
				ts = append(ts, string(t))
			}
		}
		v.Ladder = append(v.Ladder, rungView{After: "T+" + tocsin.FormatDuration(rung.After), Channel: rungChannel(rung.Channel),
			Targets: strings.Join(ts, ", "), Retries: rung.Retries})
	}
	return v
}

func (c *console) playbooks(w http.ResponseWriter, r *http.Request, p *pageData) error {
	officials, err := c.cfg.Store.Officials(r.Context())
	if err != nil {
		return err
	}
	communes := map[string]string{}
	for i := range officials {
		if o := &officials[i]; o.CommuneName != "" {
			communes[o.Commune] = o.CommuneName
		}
	}
	var vs []playbookView
	for _, pb := range c.cfg.Playbooks() {
		vs = append(vs, newPlaybookView(&pb, communes))
	}
	p.Title, p.Nav, p.Body = "Scénarios", "scenarios", vs
	c.render(w, r, http.StatusOK, "scenarios", p)
	return nil
}
