package web

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// What the console shows of recipients, in French. The same row feeds the
// page's table and the websocket's updates, so both say the same.

// statusLabels names recipient statuses for people, with the DSFR badge
// that shows each.
var statusLabels = map[tocsin.RecipientStatus]struct{ label, badge string }{
	tocsin.StatusPending:   {"En attente", "fr-badge--new"},
	tocsin.StatusSending:   {"Envoi en cours", "fr-badge--info"},
	tocsin.StatusSent:      {"Envoyé", "fr-badge--info"},
	tocsin.StatusDelivered: {"Distribué, sans réponse", "fr-badge--warning"},
	tocsin.StatusFailed:    {"Échec", "fr-badge--error"},
	tocsin.StatusInformed:  {"Informé", "fr-badge--success"},
}

var channelLabels = map[tocsin.Channel]string{tocsin.SMS: "SMS", tocsin.Voice: "appel", tocsin.Manual: "liste à appeler"}

var howLabels = map[string]string{"sms": "réponse SMS", "voice": "touche 1 (appel)", "manual": "confirmé à la main"}

var attemptLabels = map[tocsin.AttemptStatus]string{
	tocsin.AttemptCreated: "préparé", tocsin.AttemptRetry: "à renvoyer", tocsin.AttemptRejected: "refusé",
	tocsin.AttemptQueued: "en file", tocsin.AttemptSending: "en cours d'envoi", tocsin.AttemptSent: "transmis",
	tocsin.AttemptDelivered: "distribué", tocsin.AttemptUndelivered: "non distribué", tocsin.AttemptFailed: "échec",
	tocsin.AttemptInitiated: "appel lancé", tocsin.AttemptRinging: "sonne", tocsin.AttemptInProgress: "décroché",
	tocsin.AttemptCompleted: "terminé", tocsin.AttemptBusy: "occupé", tocsin.AttemptNoAnswer: "pas de réponse",
	tocsin.AttemptCanceled: "annulé",
}

// dial is a number the duty officer can call.
type dial struct {
	E164    string `json:"e164"`
	Display string `json:"display"` // 06 39 98 00 01
	Kind    string `json:"kind"`    // mobile, fixe
	Who     string `json:"who,omitempty"`
}

// row is one official of an activation as the console shows it.
type row struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	Commune     string `json:"commune"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Badge       string `json:"badge"`
	Last        string `json:"last"`     // the latest attempt, in words
	Informed    string `json:"informed"` // when and how, once informed
	Dials       []dial `json:"dials"`
	// Manual is set while the official is on the "à appeler" list.
	Manual bool `json:"manual"`
	// ManualAt is when a not yet informed official joins that list, so that
	// the page can move them there without waiting for a change.
	ManualAt    string `json:"manual_at,omitempty"`
	Confirmable bool   `json:"confirmable"`
	// Claim is set while a duty officer calls the official by hand.
	Claim *claimView `json:"claim,omitempty"`
	// History is every attempt, automatic or by hand, newest first, in
	// words.
	History []string `json:"history,omitempty"`
}

// claimView is a claim as the pages show it; the page hides it once Until
// has passed.
type claimView struct {
	By    string `json:"by"`
	At    string `json:"at"`    // 17:35
	Until string `json:"until"` // RFC 3339, for the page's clock
	// UntilClock is Until as a time of day: 17:45.
	UntilClock string `json:"until_clock"`
}

// manualAt is when the officials not yet informed go on the "à appeler"
// list. The rule itself is the domain's (Activation.OnManualList); the page
// gets this moment with each row so that it can move a row onto the list
// when the time comes, without waiting for a change.
func manualAt(a *tocsin.Activation) time.Time { return a.ActivatedAt.Add(a.ManualAfter()) }

func newRow(a *tocsin.Activation, r *tocsin.Recipient, now time.Time) row {
	st := statusLabels[r.Status]
	if st.label == "" {
		st.label, st.badge = string(r.Status), "fr-badge--info"
	}
	w := row{
		ID: r.Official.ID, Name: r.Official.Name, Role: r.Official.Role, Commune: r.Official.CommuneName,
		Status: string(r.Status), StatusLabel: st.label, Badge: st.badge,
		Manual:      a.OnManualList(r, now),
		Confirmable: r.InformedAt == nil && a.State == tocsin.Open,
	}
	if w.Name == "" {
		w.Name = r.Official.ID
	}
	w.History = attemptHistory(r, now)
	if len(r.Attempts) > 0 {
		w.Last = attemptWords(&r.Attempts[len(r.Attempts)-1], now)
	}
	if c := r.Claim; c.Held(now) && r.InformedAt == nil {
		w.Claim = &claimView{By: c.By, At: parisHour(c.At), Until: c.Until.UTC().Format(time.RFC3339), UntilClock: parisHour(c.Until)}
	}
	if r.InformedAt != nil {
		how := howLabels[r.InformedHow]
		if how == "" {
			how = r.InformedHow
		}
		w.Informed = parisClock(*r.InformedAt, now) + " — " + how
		if c := r.Confirmation; c != nil {
			w.Informed += fmt.Sprintf(" : %s joint·e (%s) par %s", c.Reached, c.How, c.By)
		}
	} else if a.State == tocsin.Open {
		w.ManualAt = manualAt(a).UTC().Format(time.RFC3339)
	}
	for _, n := range r.Official.Numbers {
		w.Dials = append(w.Dials, dial{E164: n.E164, Display: displayNumber(n.E164), Kind: kindLabel(n.Kind)})
	}
	for _, d := range r.Deputies {
		for _, n := range d.Numbers {
			w.Dials = append(w.Dials, dial{E164: n.E164, Display: displayNumber(n.E164), Kind: kindLabel(n.Kind), Who: d.Name})
		}
	}
	return w
}

// attemptWords says an attempt: « SMS au 06 39 98 00 01 : distribué,
// 17:35:02 ».
func attemptWords(at *tocsin.Attempt, now time.Time) string {
	s := fmt.Sprintf("%s au %s : %s", channelLabel(at.Channel), displayNumber(at.To), attemptLabel(at.Status))
	if at.ErrorCode != 0 {
		s += " (" + errorWords(at.ErrorCode) + ")"
	}
	if !at.UpdatedAt.IsZero() {
		s += ", " + parisClock(at.UpdatedAt, now)
	} else if !at.CreatedAt.IsZero() {
		s += ", " + parisClock(at.CreatedAt, now)
	}
	return s
}

// attemptHistory is every attempt made to reach r, by dispatch or by hand,
// newest first.
func attemptHistory(r *tocsin.Recipient, now time.Time) []string {
	type step struct {
		at    time.Time
		words string
	}
	steps := make([]step, 0, len(r.Attempts)+len(r.Calls))
	for i := range r.Attempts {
		at := &r.Attempts[i]
		steps = append(steps, step{at.CreatedAt, attemptWords(at, now)})
	}
	for i := range r.Calls {
		c := &r.Calls[i]
		words := fmt.Sprintf("appel à la main par %s", c.By)
		if c.Number != "" {
			words += " au " + displayNumber(c.Number)
		}
		words += " : " + c.Outcome.Label()
		if c.Note != "" {
			words += " (" + c.Note + ")"
		}
		steps = append(steps, step{c.At, words + ", " + parisClock(c.At, now)})
	}
	slices.SortStableFunc(steps, func(x, y step) int { return y.at.Compare(x.at) })
	out := make([]string, len(steps))
	for i := range steps {
		out[i] = steps[i].words
	}
	return out
}

// parisHour is a time of day in Paris, 17:35.
func parisHour(t time.Time) string { return t.In(tocsin.Paris()).Format("15:04") }

func channelLabel(c tocsin.Channel) string {
	if l, ok := channelLabels[c]; ok {
		return l
	}
	return string(c)
}

func attemptLabel(s tocsin.AttemptStatus) string {
	if l, ok := attemptLabels[s]; ok {
		return l
	}
	return string(s)
}

func kindLabel(k tocsin.NumberKind) string {
	if k == tocsin.Landline {
		return "fixe"
	}
	return "mobile"
}

// displayNumber writes a French E.164 number the French way, 06 39 98 00
// 01; other numbers stay as they are.
func displayNumber(e164 string) string {
	rest, ok := strings.CutPrefix(e164, "+33")
	if !ok || len(rest) != 9 {
		return e164
	}
	d := "0" + rest
	return d[0:2] + " " + d[2:4] + " " + d[4:6] + " " + d[6:8] + " " + d[8:10]
}

// parisClock is a time of day in Paris, with the date when it is not the
// day of now.
func parisClock(t, now time.Time) string {
	p := t.In(tocsin.Paris())
	if now := now.In(tocsin.Paris()); p.YearDay() == now.YearDay() && p.Year() == now.Year() {
		return p.Format("15:04:05")
	}
	return p.Format("02/01 15:04:05")
}

// counters are an activation's figures as the console shows them.
type counters struct {
	Targeted  int `json:"targeted"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Informed  int `json:"informed"`
	Failed    int `json:"failed"`
	Manual    int `json:"manual"`
	// NotInformed is Targeted - Informed, the « Non informés » filter's count.
	NotInformed int `json:"not_informed"`
	// Percent is the share informed, rounded down.
	Percent int `json:"percent"`
	// Inbox counts the replies to handle (InboxCounter), when known.
	Inbox int `json:"inbox"`
	// Messages counts, for each follow-up message by its number, the
	// officials the provider took it for.
	Messages map[int]int `json:"messages,omitempty"`
}

func newCounters(a *tocsin.Activation, rs []tocsin.Recipient, now time.Time) counters {
	return countersOf(a.Summarize(rs, now))
}

// countersOf is a summary's figures as the console shows them.
func countersOf(s tocsin.Summary) counters {
	c := counters{Targeted: s.Targeted, Sent: s.Sent, Delivered: s.Delivered, Informed: s.Informed, Failed: s.Failed, Manual: s.ToCall,
		NotInformed: s.NotInformed}
	if c.Targeted > 0 {
		c.Percent = 100 * c.Informed / c.Targeted
	}
	return c
}

// fold lowers s and strips its accents, for searches: "Évreux" finds
// "evreux".
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// actionLabels name the audit trail's actions for people; the exports
// keep the codes.
var actionLabels = map[string]string{
	tocsin.AuditActivationCreated: "activation lancée",
	tocsin.AuditActivationClosed:  "activation close",
	tocsin.AuditCIP:               "CIP activée",
	tocsin.AuditConfirmed:         "élu confirmé à la main",
	tocsin.AuditInformed:          "élu informé",
	tocsin.AuditLogin:             "connexion",
	tocsin.AuditLoginFailed:       "connexion refusée",
	tocsin.AuditImport:            "annuaire importé",
	tocsin.AuditExport:            "export de données",
	tocsin.AuditExercise:          "exercice",
	tocsin.AuditConfig:            "configuration",
	tocsin.AuditRoute:             "route d'envoi",
	tocsin.AuditRecipients:        "suivi des élus (distribution, échec, réponse)",
	tocsin.AuditUnreadable:        "enregistrement illisible",
	tocsin.AuditRetex:             "RETEX saisi",
	tocsin.AuditHistoryImported:   "historique importé",
	tocsin.AuditClaimed:           "élu pris pour un appel à la main",
	tocsin.AuditReleased:          "élu libéré",
	tocsin.AuditCalled:            "appel à la main sans succès",
	tocsin.AuditRushed:            "élu relancé (échelon suivant avancé)",
	tocsin.AuditNumbersFixed:      "numéros d'un élu corrigés",
	tocsin.AuditReplyHandled:      "réponse d'un élu traitée",
	tocsin.AuditFollowUp:          "message de suivi envoyé aux élus",
}

// actionLabel names an audit action in French; an unknown one is shown
// as it is.
func actionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	return action
}

// errorMeanings say in French what Twilio's error codes mean for the duty
// officer: the codes of a refused send and of a message not delivered.
var errorMeanings = map[int]string{
	21211: "numéro invalide",
	21408: "pays non autorisé sur le compte",
	21610: "l'élu a répondu STOP : plus aucun SMS ne lui parvient",
	21612: "numéro injoignable par ce compte",
	21614: "pas un mobile : un fixe ne reçoit pas de SMS",
	30003: "téléphone injoignable (éteint ou hors réseau)",
	30004: "message bloqué par le destinataire",
	30005: "numéro inconnu ou plus attribué",
	30006: "fixe ou opérateur qui ne reçoit pas de SMS",
	30007: "message filtré par l'opérateur",
	30008: "échec chez l'opérateur, cause inconnue",
	30034: "expéditeur non enregistré auprès de l'opérateur",
}

// errorWords is an error code with its meaning: « code 30003 : téléphone
// injoignable (éteint ou hors réseau) ».
func errorWords(code int) string {
	if m, ok := errorMeanings[code]; ok {
		return fmt.Sprintf("code %d : %s", code, m)
	}
	return fmt.Sprintf("code %d", code)
}
