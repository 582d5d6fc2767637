package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Records is what verify checks the trail against, read at the revision
// it read the trail at: a change committed later is not one the trail
// lacks.
type Records interface {
	// ActivationsAt calls fn with every activation stored at revision rev.
	ActivationsAt(ctx context.Context, rev int64, fn func(a *tocsin.Activation) error) error
	// InformedAt returns, by official id, how each recipient of an
	// activation informed at revision rev was informed (sms, voice,
	// manual); a *tocsin.CompactedError when rev is no longer held.
	InformedAt(ctx context.Context, activation string, rev int64) (map[string]string, error)
	// AuditMarkAt returns the recipients' mark as it stood at revision
	// rev, and whether there was one.
	AuditMarkAt(ctx context.Context, rev int64) (tocsin.AuditMark, bool, error)
}

// Unrecorded is a record of the store the trail does not account for: an
// activation without the entry of its creation (or of its import), or an
// informed recipient without an entry saying so.
type Unrecorded struct {
	Activation string `json:"activation"`
	Official   string `json:"official,omitempty"`
	Reason     string `json:"reason"` // in French
}

// maxNamed bounds the records a result names; the counts say how many.
const maxNamed = 100

// coverage is what the trail accounts for, gathered entry by entry: which
// activations were created or imported, and which of their recipients
// were said informed. Memory: one set of official ids per activation.
type coverage struct {
	created, imported map[string]bool
	// summaries are the history imports of older trails, one entry for
	// the whole import naming no activation: by whom and when.
	summaries []summary
	informed  map[string]map[string]bool
}

type summary struct {
	actor string
	at    time.Time
}

func newCoverage() *coverage {
	return &coverage{created: map[string]bool{}, imported: map[string]bool{}, informed: map[string]map[string]bool{}}
}

// add notes what e accounts for.
func (c *coverage) add(e *tocsin.AuditEntry) {
	switch e.Action {
	case tocsin.AuditActivationCreated:
		c.created[e.Activation] = true
	case tocsin.AuditHistoryImported:
		if e.Activation != "" {
			c.imported[e.Activation] = true
		} else {
			c.summaries = append(c.summaries, summary{e.Actor, e.At})
		}
	case tocsin.AuditRecipients:
		c.inform(e.Activation, informedIn(e.Detail)...)
	case tocsin.AuditConfirmed:
		c.inform(e.Activation, confirmedIn(e.Detail)...)
	case tocsin.AuditInformed:
		c.inform(e.Activation, informedInOld(e.Detail)...)
	}
}

func (c *coverage) inform(activation string, officials ...string) {
	if len(officials) == 0 || activation == "" {
		return
	}
	set := c.informed[activation]
	if set == nil {
		set = map[string]bool{}
		c.informed[activation] = set
	}
	for _, o := range officials {
		set[o] = true
	}
}

// importedBy reports whether the trail records the import of an
// activation: an entry naming it, or, in trails kept before imports named
// each activation, a summary entry by the same user made at or after it.
func (c *coverage) importedBy(a *tocsin.Activation) bool {
	if c.imported[a.ID] {
		return true
	}
	return slices.ContainsFunc(c.summaries, func(s summary) bool {
		return s.actor == a.Imported.By && !s.at.Before(a.Imported.At)
	})
}

// confirmedIn returns the official a recipient.confirmed entry names:
// "<name> (<official id>) confirmé·e à la main : …". Ids hold no
// parenthesis, so the last one before the verb opens the id.
func confirmedIn(detail string) []string {
	head, _, ok := strings.Cut(detail, ") confirmé·e à la main")
	if !ok {
		return nil
	}
	if i := strings.LastIndex(head, "("); i >= 0 {
		return []string{head[i+1:]}
	}
	return nil
}

// informedInOld returns the officials of a recipient.informed entry, as
// written before recipients' changes were read from the store's history:
// "<official id> informé·e : touche 1 pendant l'appel", or "réponse SMS
// d'accusé de réception pour [<id> <id>…]".
func informedInOld(detail string) []string {
	if _, list, ok := strings.Cut(detail, "réponse SMS d'accusé de réception pour ["); ok {
		list, _, _ = strings.Cut(list, "]")
		return strings.Fields(list)
	}
	if id, _, ok := strings.Cut(detail, " informé·e"); ok && !strings.Contains(id, " ") {
		return []string{id}
	}
	return nil
}

// crosscheck compares the store at revision rev with what the trail
// accounts for (cov), and fills res with what is missing, and what is only
// pending: an entry waiting in the outbox, or a recipient's change the
// leader has yet to read from the store's history.
func (l *Log) crosscheck(ctx context.Context, rev int64, cov *coverage, res *Result) error {
	outbox, err := l.store.AuditOutbox(ctx, 0, rev)
	if err != nil {
		return fmt.Errorf("read audit outbox: %w", err)
	}
	res.Outbox = len(outbox)
	waiting := newCoverage()
	for i := range outbox {
		waiting.add(&outbox[i].Entry)
	}
	mark, marked, err := l.store.AuditMarkAt(ctx, rev)
	if err != nil {
		return fmt.Errorf("read audit mark: %w", err)
	}
	missing := func(u Unrecorded) {
		if res.MissingCount++; len(res.Missing) < maxNamed {
			res.Missing = append(res.Missing, u)
		}
	}
	pending := func(u Unrecorded) {
		if res.PendingCount++; len(res.Pending) < maxNamed {
			res.Pending = append(res.Pending, u)
		}
	}
	return l.store.ActivationsAt(ctx, rev, func(a *tocsin.Activation) error {
		if a.Imported != nil {
			// Its recipients came with it, recorded by the import's entry.
			switch {
			case cov.importedBy(a):
			case waiting.imported[a.ID]:
				pending(Unrecorded{Activation: a.ID, Reason: "entrée de l'import en attente d'être chaînée"})
			default:
				missing(Unrecorded{Activation: a.ID, Reason: "aucune entrée history.imported pour cette activation importée"})
			}
			return nil
		}
		switch {
		case cov.created[a.ID]:
		case waiting.created[a.ID]:
			pending(Unrecorded{Activation: a.ID, Reason: "entrée activation.created en attente d'être chaînée"})
		default:
			missing(Unrecorded{Activation: a.ID, Reason: "aucune entrée activation.created pour cette activation"})
		}
		return l.checkInformed(ctx, a.ID, rev, mark, marked, cov, waiting, missing, pending)
	})
}

// checkInformed checks that every recipient of an activation informed at
// revision rev has an entry. One informed by SMS or key press after the
// mark (the revision up to which the leader recorded recipients' changes)
// is pending, not missing: the leader records it at its next flush.
func (l *Log) checkInformed(ctx context.Context, activation string, rev int64, mark tocsin.AuditMark, marked bool,
	cov, waiting *coverage, missing, pending func(Unrecorded)) error {
	informed, err := l.store.InformedAt(ctx, activation, rev)
	if err != nil {
		return err
	}
	var unmatched []string
	for id := range informed {
		if cov.informed[activation][id] {
			continue
		}
		if waiting.informed[activation][id] {
			pending(Unrecorded{Activation: activation, Official: id, Reason: "entrée en attente d'être chaînée"})
			continue
		}
		unmatched = append(unmatched, id)
	}
	if len(unmatched) == 0 {
		return nil
	}
	slices.Sort(unmatched)
	var atMark map[string]string
	compacted := false
	if marked {
		atMark, err = l.store.InformedAt(ctx, activation, mark.Rev)
		var gone *tocsin.CompactedError
		if compacted = errors.As(err, &gone); err != nil && !compacted {
			return err
		}
	}
	for _, id := range unmatched {
		recorded := informed[id] == "sms" || informed[id] == "voice"
		if recorded && marked && (compacted || atMark[id] == "") {
			pending(Unrecorded{Activation: activation, Official: id, Reason: "changement d'état pas encore relevé par le leader"})
			continue
		}
		missing(Unrecorded{Activation: activation, Official: id, Reason: "informé·e (" + informed[id] + ") sans entrée au journal"})
	}
	return nil
}
