package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The calling view: the « à appeler » list as cards a duty officer can
// use on a phone, one official a card, each number a large button that
// dials it. The page holds every official not yet informed, those not on
// the list hidden, so that one who joins it shows at once (at the top,
// highlighted).

type callingBody struct {
	View     *activation.View
	Card     card
	Counters counters
	Cards    []row
	ManualAt string
	Me       string
	Outcomes []outcomeOption
	Pager    *pager // set when the cards are too many for one page
}

type outcomeOption struct{ Value, Label string }

var outcomeOptions = func() []outcomeOption {
	var out []outcomeOption
	for _, o := range tocsin.CallOutcomes {
		out = append(out, outcomeOption{string(o), o.Label()})
	}
	return out
}()

func (c *console) callingPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	v, rev, err := c.liveActivation(r)
	if err != nil {
		return err
	}
	now := c.now()
	b := callingBody{View: v, Card: newCard(v, now), Counters: newCounters(&v.Activation, v.Recipients, now),
		ManualAt: tocsin.ParisTime(manualAt(&v.Activation)), Me: userFrom(r.Context()).Name, Outcomes: outcomeOptions}
	if v.State == tocsin.Open {
		b.Cards = callList(&v.Activation, v.Recipients, now, b.Me)
		if len(b.Cards) > cardPageSize {
			// Too many for one page: the cards shown, a page at a time;
			// those who join the list later are announced, not added.
			var shown []row
			for _, w := range b.Cards {
				if w.Manual || (w.Claim != nil && w.Claim.By == b.Me) {
					shown = append(shown, w)
				}
			}
			lo, hi, pg := paginate(r, len(shown), cardPageSize, "cartes")
			b.Cards, b.Pager = shown[lo:hi], pg
		}
	}
	p.Title, p.Nav, p.Body, p.Live, p.Rev = "À appeler — "+v.Title, "activations", b, v.ID, rev
	p.Flash = callFlashes[r.URL.Query().Get("info")]
	c.render(w, r, http.StatusOK, "appeler", p)
	return nil
}

// callList is every official not yet informed, those to call first
// first: those me calls, then free before held by another officer, every
// automatic means failed before merely late, then by commune and name.
func callList(a *tocsin.Activation, rs []tocsin.Recipient, now time.Time, me string) []row {
	var out []row
	for i := range rs {
		if rs[i].InformedAt != nil {
			continue
		}
		out = append(out, newRow(a, &rs[i], now))
	}
	slices.SortStableFunc(out, func(x, y row) int {
		return cmp.Or(cmp.Compare(callRank(&x, me), callRank(&y, me)), strings.Compare(fold(x.Commune), fold(y.Commune)), strings.Compare(fold(x.Name), fold(y.Name)))
	})
	return out
}

func callRank(w *row, me string) int {
	if w.Claim != nil && w.Claim.By == me {
		return -1
	}
	rank := 0
	if !w.Manual {
		rank += 4
	}
	if w.Claim != nil {
		rank += 2
	}
	if w.Status != string(tocsin.StatusFailed) {
		rank++
	}
	return rank
}

var callFlashes = map[string]string{
	"pris":    "C'est à vous : les autres cadres voient que vous appelez.",
	"libere":  "Élu libéré : un autre cadre peut l'appeler.",
	"echec":   "Appel sans succès enregistré.",
	"confirm": "Confirmation enregistrée.",
	"relance": "Relance envoyée : l'échelon suivant part maintenant.",
}

// callTarget is where a calling form sends the officer back: the card
// they acted on.
func callTarget(id, official, info string) string {
	return "/activations/" + url.PathEscape(id) + "/appeler?info=" + info + "#carte-" + url.PathEscape(official)
}

func (c *console) claimForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, official := r.PathValue("id"), r.PathValue("official")
	if _, err := c.cfg.Calls.Claim(r.Context(), userFrom(r.Context()), id, official); err != nil {
		return err
	}
	http.Redirect(w, r, callTarget(id, official, "pris"), http.StatusSeeOther)
	return nil
}

func (c *console) releaseForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, official := r.PathValue("id"), r.PathValue("official")
	if _, err := c.cfg.Calls.Release(r.Context(), userFrom(r.Context()), id, official); err != nil {
		return err
	}
	http.Redirect(w, r, callTarget(id, official, "libere"), http.StatusSeeOther)
	return nil
}

func (c *console) callForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, official := r.PathValue("id"), r.PathValue("official")
	req := activation.CallRequest{Outcome: tocsin.CallOutcome(r.PostFormValue("issue")), Number: r.PostFormValue("numero"), Note: r.PostFormValue("note")}
	if _, err := c.cfg.Calls.LogCall(r.Context(), userFrom(r.Context()), id, official, req); err != nil {
		return err
	}
	http.Redirect(w, r, callTarget(id, official, "echec"), http.StatusSeeOther)
	return nil
}

// callingCSV is the « à appeler » list as CSV, to print or keep on paper.
func (c *console) callingCSV(w http.ResponseWriter, r *http.Request, p *pageData) error {
	v, rows, err := c.srv.callRows(r)
	if err != nil {
		return err
	}
	if err := c.srv.recordCallExport(w, r, v.ID, len(rows)); err != nil {
		return err
	}
	return writeCallCSV(w, v, rows)
}

// rushForm brings one official's next rung forward, from their card or
// their row.
func (c *console) rushForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, official := r.PathValue("id"), r.PathValue("official")
	if _, err := c.cfg.Rushes.Rush(r.Context(), userFrom(r.Context()), id, official); err != nil {
		return err
	}
	if r.PostFormValue("retour") == "appeler" {
		http.Redirect(w, r, callTarget(id, official, "relance"), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=relance#elu-"+url.PathEscape(official), http.StatusSeeOther)
	return nil
}

// rushAllForm brings forward the next rung of every official not
// informed, once the officer ticked the box that says so.
func (c *console) rushAllForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if r.PostFormValue("confirmation") != "oui" {
		return tocsin.Errorf(tocsin.EInvalid, "cochez la case pour relancer maintenant tous les élus non informés")
	}
	n, err := c.cfg.Rushes.RushAll(r.Context(), userFrom(r.Context()), id)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=relances&n="+strconv.Itoa(n), http.StatusSeeOther)
	return nil
}
