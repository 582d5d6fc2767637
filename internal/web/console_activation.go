package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// card is an activation as the dashboard and the list show it.
type card struct {
	ID          string
	Title       string
	Exercise    bool
	Open        bool
	ActivatedAt string
	Deadline    string
	DeadlineISO string // for the countdown
	TimeLeft    string
	Counters    counters
	Delay       string // "délai d'information", once everyone is informed
	Within      string // "oui", "non" or "" while undecided
	CreatedBy   string
	Imported    string // the source of an activation imported from the history
	// Pace says how fast sends really go, and by which route, when it is
	// worth saying (tocsin.Pace.Describe); empty otherwise.
	Pace string
}

func newCard(v *activation.View, now time.Time) card {
	s := v.Summary
	c := card{ID: v.ID, Title: v.Title, Exercise: v.Exercise, Open: v.State == tocsin.Open,
		ActivatedAt: v.ActivatedAtParis, Deadline: v.DeadlineParis, DeadlineISO: v.Deadline.UTC().Format(time.RFC3339),
		TimeLeft: timeLeft(v.Deadline, now), CreatedBy: v.CreatedBy, Pace: v.Pace.Describe(), Counters: countersOf(s)}
	if s.InformDelay != nil {
		c.Delay = tocsin.FormatDuration(time.Duration(*s.InformDelay * float64(time.Second)))
	}
	if v.Imported != nil {
		c.Imported = v.Imported.Source
	}
	if s.WithinDeadline != nil {
		c.Within = map[bool]string{true: "oui", false: "non"}[*s.WithinDeadline]
	}
	return c
}

// timeLeft says how long until the deadline, or that it has passed.
func timeLeft(deadline, now time.Time) string {
	d := deadline.Sub(now)
	if d <= 0 {
		return "délai dépassé"
	}
	return tocsin.FormatDuration(d)
}

type dashboardBody struct {
	Open   []card
	Recent []card
	Month  *indicatorsTable // the current month's indicators
	Next   []string         // the next scheduled exercises, Paris time
	// ExerciseDue is set while a scheduled exercise waits for the duty
	// officer to launch it.
	ExerciseDue *exerciseDue
	// Route shows the provider routes when a secondary is configured.
	Route *routePanel
}

func (c *console) dashboard(w http.ResponseWriter, r *http.Request, p *pageData) error {
	rev, err := c.cfg.Activity.Revision(r.Context())
	if err != nil {
		return err
	}
	vs, err := c.cfg.Activations.List(r.Context())
	if err != nil {
		return err
	}
	now := c.now()
	var b dashboardBody
	for i := range vs {
		switch {
		case vs[i].State == tocsin.Open:
			cd := newCard(&vs[i], now)
			if cd.Counters.Inbox, err = inboxCount(r.Context(), c.cfg.Activity, vs[i].ID); err != nil {
				return err
			}
			b.Open = append(b.Open, cd)
		case len(b.Recent) < 5:
			b.Recent = append(b.Recent, newCard(&vs[i], now))
		}
	}
	if err := c.dashboardReports(r, &b); err != nil {
		return err
	}
	if b.Route, err = c.routePanel(r.Context()); err != nil {
		return err
	}
	p.Title, p.Nav, p.Body, p.Live, p.Rev = "Tableau de bord", "tableau", b, dashboardTopic, rev
	c.render(w, r, http.StatusOK, "tableau", p)
	return nil
}

func (c *console) activationList(w http.ResponseWriter, r *http.Request, p *pageData) error {
	vs, err := c.cfg.Activations.List(r.Context())
	if err != nil {
		return err
	}
	now := c.now()
	cards := make([]card, 0, len(vs))
	for i := range vs {
		cards = append(cards, newCard(&vs[i], now))
	}
	p.Title, p.Nav, p.Body = "Activations", "activations", cards
	c.render(w, r, http.StatusOK, "activations", p)
	return nil
}

// activationForm is what the duty officer chose on the "Nouvelle
// activation" page, carried through the preview to the confirmation.
type activationForm struct {
	Playbook string
	Exercise bool
	Note     string
}

func readActivationForm(r *http.Request) activationForm {
	return activationForm{
		Playbook: r.PostFormValue("scenario"),
		Exercise: r.PostFormValue("mode") != "reelle",
		Note:     strings.TrimSpace(r.PostFormValue("note")),
	}
}

func (f activationForm) request() activation.Request {
	return activation.Request{Playbook: f.Playbook, Exercise: f.Exercise, Note: f.Note}
}

type newActivationBody struct {
	Playbooks []playbookView
	Form      activationForm
	Error     string
	Field     string
}

func (c *console) newActivation(w http.ResponseWriter, r *http.Request, p *pageData) error {
	f := activationForm{Playbook: r.URL.Query().Get("scenario"), Exercise: r.URL.Query().Get("mode") != "reelle"}
	c.showNewActivation(w, r, p, http.StatusOK, newActivationBody{Form: f})
	return nil
}

func (c *console) showNewActivation(w http.ResponseWriter, r *http.Request, p *pageData, status int, b newActivationBody) {
	for _, pb := range c.cfg.Playbooks() {
		b.Playbooks = append(b.Playbooks, newPlaybookView(&pb, nil))
	}
	p.Title, p.Nav, p.Body = "Nouvelle activation", "nouvelle", b
	c.render(w, r, status, "nouvelle", p)
}

// previewBody is the preview and confirmation page.
type previewBody struct {
	Form     activationForm
	Preview  *activation.Preview
	Rungs    []forecastRung
	Deadline string
	Error    string
}

type forecastRung struct {
	Rung     int
	After    string
	Channel  string
	Contacts int
	Done     string
	Late     bool
}

// previewActivation shows what an activation would send, and stores
// nothing; its form is the confirmation.
func (c *console) previewActivation(w http.ResponseWriter, r *http.Request, p *pageData) error {
	return c.showPreview(w, r, p, http.StatusOK, readActivationForm(r), "")
}

func (c *console) showPreview(w http.ResponseWriter, r *http.Request, p *pageData, status int, f activationForm, problem string) error {
	pv, err := c.cfg.Activations.Preview(r.Context(), userFrom(r.Context()), f.request())
	if code := tocsin.ErrorCode(err); code == tocsin.EInvalid || code == tocsin.ENotFound {
		c.showNewActivation(w, r, p, http.StatusBadRequest, newActivationBody{Form: f, Error: tocsin.ErrorMessage(err), Field: tocsin.ErrorField(err)})
		return nil
	}
	if err != nil {
		return err
	}
	f.Exercise = pv.Exercise
	b := previewBody{Form: f, Preview: pv, Deadline: tocsin.FormatDuration(pv.Forecast.Deadline), Error: problem}
	for _, rf := range pv.Forecast.Rungs {
		b.Rungs = append(b.Rungs, forecastRung{Rung: rf.Rung + 1, After: "T+" + tocsin.FormatDuration(rf.After), Channel: rungChannel(rf.Channel),
			Contacts: rf.Contacts, Done: "T+" + tocsin.FormatDuration(rf.Done), Late: rf.After < pv.Forecast.Deadline && rf.Done > pv.Forecast.Deadline})
	}
	p.Title, p.Nav, p.Body = "Vérifier avant l'envoi", "nouvelle", b
	c.render(w, r, status, "apercu", p)
	return nil
}

// createActivation starts the activation confirmed on the preview page. A
// real activation takes a second, explicit confirmation: the box that says
// that real officials will be alerted.
func (c *console) createActivation(w http.ResponseWriter, r *http.Request, p *pageData) error {
	f := readActivationForm(r)
	if !f.Exercise && r.PostFormValue("confirmation-reelle") != "oui" {
		return c.showPreview(w, r, p, http.StatusBadRequest, f,
			"Activation réelle : cochez la case de confirmation. Les élus seront réellement alertés.")
	}
	a, err := c.cfg.Activations.Create(r.Context(), userFrom(r.Context()), f.request())
	if code := tocsin.ErrorCode(err); code == tocsin.EInvalid || code == tocsin.ENotFound {
		c.showNewActivation(w, r, p, http.StatusBadRequest, newActivationBody{Form: f, Error: tocsin.ErrorMessage(err), Field: tocsin.ErrorField(err)})
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(a.ID)+"?info=lancee", http.StatusSeeOther)
	return nil
}

// filters of the officials' table.
var filters = []struct{ Key, Label string }{
	{"", "Tous"}, {"non-informes", "Non informés"}, {"echecs", "Échecs"}, {"a-appeler", "À appeler"},
}

// orders are the orders of the officials' table (?tri=).
var orders = []struct{ Key, Label string }{
	{"", "à appeler d'abord"}, {"nom", "nom"}, {"commune", "commune"},
}

func keep(filter string, w *row) bool {
	switch filter {
	case "non-informes":
		return w.Status != string(tocsin.StatusInformed)
	case "echecs":
		return w.Status == string(tocsin.StatusFailed)
	case "a-appeler":
		return w.Manual
	}
	return true
}

type filterLink struct {
	Key, Label, Href string
	Count            int
	Current          bool
}

type activationBody struct {
	View     *activation.View
	Card     card
	Counters counters
	Rows     []row
	Filter   string
	Filters  []filterLink
	Order    string       // the table's order (?tri=), empty for the first to call first
	Orders   []filterLink // links to the other orders
	Timeline []liveEvent
	ManualAt string
	Retex    *tocsin.Retex // an exercise's lessons learned
	// Inbox holds the replies that did not acknowledge, newest first;
	// Unhandled counts those nobody handled yet.
	Inbox     []activation.InboxItem
	Unhandled int
	// Pager is set when the activation is too large for one page: Rows
	// are then the window it says.
	Pager *pager
	// Messages are the follow-up messages, each with how far it went.
	Messages []messageLine
}

// messageLine is a follow-up message as the activation page lists it.
type messageLine struct {
	tocsin.FollowUp
	// Sent counts the officials the provider took it for, Of those it
	// goes to (the officials with a mobile).
	Sent, Of int
	// Segments and Encoding are what each SMS of it costs.
	Segments int
	Encoding tocsin.Encoding
}

// messageLines says how far each follow-up message of a went, from its
// recipients rs.
func messageLines(a *tocsin.Activation, rs []tocsin.Recipient) []messageLine {
	if len(a.Messages) == 0 {
		return nil
	}
	of := 0
	for j := range rs {
		if rs[j].Official.FirstOf(tocsin.Mobile) != "" {
			of++
		}
	}
	out := make([]messageLine, len(a.Messages))
	for i, f := range a.Messages {
		out[i].FollowUp, out[i].Of = f, of
		out[i].Segments, out[i].Encoding = tocsin.Segments(a.FollowUpBody(f))
		id := f.NoticeID()
		for j := range rs {
			if n := rs[j].Notice(id); n != nil && (n.Status.Accepted() || n.SID != "") {
				out[i].Sent++
			}
		}
	}
	return out
}

// messageForm sends a follow-up message to the activation's audience.
func (c *console) messageForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if _, err := c.cfg.Messages.SendMessage(r.Context(), userFrom(r.Context()), id, r.PostFormValue("texte")); err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=message#messages", http.StatusSeeOther)
	return nil
}

var flashes = map[string]string{
	"lancee":  "Activation lancée : les premiers messages partent.",
	"close":   "Activation close : plus rien ne sera envoyé.",
	"confirm": "Confirmation enregistrée.",
	"retex":   "RETEX enregistré.",
	"relance": "Relance envoyée : l'échelon suivant part maintenant.",
	"traitee": "Réponse marquée comme traitée.",
	"message": "Message de suivi enregistré : il part par SMS à chaque élu.",
}

// atoi reads a count from a query, 0 when it is not one.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return max(n, 0)
}

// liveActivation reads the activation a live page shows, and the store
// revision its websocket follows from: read first, so that no change
// made while the page is built is missed.
func (c *console) liveActivation(r *http.Request) (*activation.View, int64, error) {
	rev, err := c.cfg.Activity.Revision(r.Context())
	if err != nil {
		return nil, 0, err
	}
	v, err := c.cfg.Activations.Get(r.Context(), r.PathValue("id"))
	return v, rev, err
}

func (c *console) activationPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	v, rev, err := c.liveActivation(r)
	if err != nil {
		return err
	}
	now := c.now()
	filter := r.URL.Query().Get("filtre")
	b := activationBody{View: v, Card: newCard(v, now), Counters: newCounters(&v.Activation, v.Recipients, now), Filter: filter,
		ManualAt: tocsin.ParisTime(manualAt(&v.Activation))}
	// Up to a page, every row is on the page, those the filter leaves out
	// hidden: an official who joins the filter later shows without a
	// reload. Past it, the page holds the rows of its window only, filter
	// and search applied (console_pages.go).
	paged := len(v.Recipients) > pageSize
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	folded := fold(query)
	// The officials to call first (on the manual list, then not informed),
	// or by name or commune as the officer asks: names folded once each,
	// not at each comparison.
	order := r.URL.Query().Get("tri")
	type pick struct {
		i, rank       int
		name, commune string
	}
	counts := map[string]int{}
	var picks []pick
	for i := range v.Recipients {
		rc := &v.Recipients[i]
		w := row{Status: string(rc.Status), Manual: v.Activation.OnManualList(rc, now)}
		for _, f := range filters {
			if keep(f.Key, &w) {
				counts[f.Key]++
			}
		}
		if paged && (!keep(filter, &w) || !matchesSearch(&rc.Official, folded)) {
			continue
		}
		p := pick{i: i, rank: rowRank(&w)}
		switch order {
		case "commune":
			p.commune = fold(rc.Official.CommuneName)
			fallthrough
		case "nom":
			p.name = fold(rc.Official.Name)
		}
		picks = append(picks, p)
	}
	slices.SortStableFunc(picks, func(x, y pick) int {
		switch order {
		case "nom":
			return strings.Compare(x.name, y.name)
		case "commune":
			return cmp.Or(strings.Compare(x.commune, y.commune), strings.Compare(x.name, y.name))
		}
		return x.rank - y.rank
	})
	if paged {
		lo, hi, pg := paginate(r, len(picks), pageSize, "elus")
		picks, b.Pager = picks[lo:hi], pg
	}
	for _, pk := range picks {
		b.Rows = append(b.Rows, newRow(&v.Activation, &v.Recipients[pk.i], now))
	}
	// The links keep what the others chose: a filter keeps the order and
	// the search, an order the filter and the search; both go back to the
	// first page.
	href := func(filter, order string) string {
		q := url.Values{}
		for k, val := range map[string]string{"filtre": filter, "tri": order, "q": query} {
			if val != "" && (k != "q" || paged) {
				q.Set(k, val)
			}
		}
		if len(q) == 0 {
			return "/activations/" + url.PathEscape(v.ID)
		}
		return "/activations/" + url.PathEscape(v.ID) + "?" + q.Encode()
	}
	for _, f := range filters {
		b.Filters = append(b.Filters, filterLink{Key: f.Key, Label: f.Label, Href: href(f.Key, order), Count: counts[f.Key], Current: f.Key == filter})
	}
	for _, o := range orders {
		b.Orders = append(b.Orders, filterLink{Key: o.Key, Label: o.Label, Href: href(filter, o.Key), Current: o.Key == order})
	}
	b.Order = order
	names := make(map[string]string, len(v.Recipients))
	for i := range v.Recipients {
		names[v.Recipients[i].Official.ID] = v.Recipients[i].Official.Name
	}
	for i := len(v.Timeline) - 1; i >= 0; i-- {
		b.Timeline = append(b.Timeline, *newLiveEvent(&v.Timeline[i].Event, names, c.now()))
	}
	b.Messages = messageLines(&v.Activation, v.Recipients)
	if b.Retex, err = c.cfg.Retexes.Retex(r.Context(), v.ID); err != nil {
		return err
	}
	if c.cfg.Replies != nil {
		if b.Inbox, err = c.cfg.Replies.Inbox(r.Context(), v); err != nil {
			return err
		}
		for _, it := range b.Inbox {
			if it.Handled == nil {
				b.Unhandled++
			}
		}
	}
	p.Title, p.Nav, p.Body, p.Live, p.Rev = v.Title, "activations", b, v.ID, rev
	p.Flash = flashes[r.URL.Query().Get("info")]
	if r.URL.Query().Get("info") == "relances" {
		p.Flash = fmt.Sprintf("Relance : l'échelon suivant part maintenant pour %d élu(s) non informé(s).", atoi(r.URL.Query().Get("n")))
	}
	c.render(w, r, http.StatusOK, "activation", p)
	return nil
}

func rowRank(w *row) int {
	switch {
	case w.Manual:
		return 0
	case w.Status != string(tocsin.StatusInformed):
		return 1
	}
	return 2
}

// confirm records that the duty officer reached an official another way.
func (c *console) confirm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, official := r.PathValue("id"), r.PathValue("official")
	req := activation.ConfirmRequest{Reached: r.PostFormValue("joint"), How: r.PostFormValue("moyen"), Note: r.PostFormValue("note")}
	if _, err := c.cfg.Activations.Confirm(r.Context(), userFrom(r.Context()), id, official, req); err != nil {
		return err
	}
	if r.PostFormValue("retour") == "appeler" {
		http.Redirect(w, r, callTarget(id, official, "confirm"), http.StatusSeeOther)
		return nil
	}
	target := "/activations/" + url.PathEscape(id) + "?info=confirm"
	if f := r.PostFormValue("filtre"); f != "" {
		target += "&filtre=" + url.QueryEscape(f)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// close ends an activation: nothing more is sent.
func (c *console) close(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if r.PostFormValue("confirmation") != "oui" {
		return tocsin.Errorf(tocsin.EInvalid, "cochez la case pour confirmer la clôture de l'activation")
	}
	if _, err := c.cfg.Activations.Close(r.Context(), userFrom(r.Context()), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=close", http.StatusSeeOther)
	return nil
}

func (c *console) activateCIP(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if _, err := c.cfg.Activations.ActivateCIP(r.Context(), userFrom(r.Context()), id, r.PostFormValue("note")); err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// rungChannel names a rung's channel at the start of a cell.
func rungChannel(ch tocsin.Channel) string {
	l := ch.Label()
	if l == "" {
		return ""
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// backLink is where the error page sends the user back to.
func backLink(r *http.Request) string {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/activations/") && r.Method == http.MethodPost && path != "/activations/apercu":
		parts := strings.Split(path, "/")
		if len(parts) > 3 && parts[3] == "appeler" || r.PostFormValue("retour") == "appeler" {
			return "/activations/" + parts[2] + "/appeler"
		}
		return "/activations/" + parts[2]
	case path == "/activations" || path == "/activations/apercu":
		return "/activations/nouvelle"
	case path == "/annuaire/import":
		return "/annuaire"
	}
	return "/"
}

// handleReplyForm marks a reply of the inbox handled.
func (c *console) handleReplyForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if err := c.cfg.Replies.HandleReply(r.Context(), userFrom(r.Context()), id, r.PathValue("seq")); err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=traitee#reponses", http.StatusSeeOther)
	return nil
}
