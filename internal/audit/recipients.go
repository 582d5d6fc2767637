package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// RecipientStore is what Recipients needs: the recipients' writes in
// revision order, and an append that moves the mark with the entries.
type RecipientStore interface {
	AuditHead(ctx context.Context) (tocsin.AuditHead, error)
	AuditMark(ctx context.Context) (tocsin.AuditMark, error)
	AppendAuditMarked(ctx context.Context, es []tocsin.AuditEntry, after tocsin.AuditHead, mark tocsin.AuditMark, rev int64) (bool, error)
	WatchRecipientChanges(ctx context.Context, from int64, fn func(cs []tocsin.RecipientChange)) error
}

// Recipients records the recipients' state changes in the trail: a first
// delivery, a failure, an acknowledgement by SMS or key press. It reads
// them from the store's history, after the mark, and appends at most one
// entry per activation per flush, with the mark moved in the same
// transaction: a change is recorded once, and none is lost when the
// replica dies before a flush, since the next one replays from the mark.
// Confirmations by hand are recorded when made, under the officer's name.
// Only the leader runs it.
type Recipients struct {
	Store RecipientStore
	// Every is how often changes are flushed; 0 means one second.
	Every time.Duration
	Now   func() time.Time
	Log   *slog.Logger
	// Observer is told the entries appended, for metrics; nil: nobody is.
	Observer Observer
}

// change is one line of an entry.
type change struct {
	rev        int64
	activation string
	line       string
}

// maxLines bounds the changes one entry lists; more make several entries.
const maxLines = 200

// maxEntries bounds the entries of one transaction (etcd: 128 operations).
const maxEntries = 100

// Run records changes until ctx ends. It returns nil when ctx ends, or the
// error that stopped it. When the store's history no longer holds the
// changes after the mark (compacted while no leader recorded them), it
// records that gap in the trail, names the revisions, and goes on from
// the oldest one the store still holds.
func (r *Recipients) Run(ctx context.Context) error {
	for {
		err := r.run(ctx)
		var gone *tocsin.CompactedError
		if !errors.As(err, &gone) {
			return err
		}
		if err := r.recordGap(ctx, gone.Rev); err != nil {
			return err
		}
	}
}

// recordGap says in the trail which changes cannot be recorded, and moves
// the mark past them.
func (r *Recipients) recordGap(ctx context.Context, compacted int64) error {
	for range maxTries {
		mark, err := r.Store.AuditMark(ctx)
		if err != nil {
			return err
		}
		if mark.Rev >= compacted-1 {
			return nil
		}
		head, err := r.Store.AuditHead(ctx)
		if err != nil {
			return err
		}
		e := Seal(tocsin.AuditEntry{At: r.now().UTC(), Actor: "tocsin", Action: tocsin.AuditRecipients,
			Detail: fmt.Sprintf("changements d'état des destinataires des révisions %d à %d non audités : l'historique d'etcd est compacté ; la chronologie de chaque activation les garde",
				mark.Rev+1, compacted-1)}, head)
		ok, err := r.Store.AppendAuditMarked(ctx, []tocsin.AuditEntry{e}, head, mark, compacted-1)
		if ok {
			appended(r.Observer, ViaRecipients, 1)
		}
		if err != nil || ok {
			return err
		}
	}
	return errors.New("record a gap in the trail: too much contention")
}

func (r *Recipients) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Recipients) run(ctx context.Context) error {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := r.Every
	if every <= 0 {
		every = time.Second
	}
	mark, err := r.Store.AuditMark(ctx)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var pending []change
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- r.Store.WatchRecipientChanges(wctx, mark.Rev, func(cs []tocsin.RecipientChange) {
			// A revision's changes go in together: a flush moves the mark
			// past a revision, so it must not see half of it.
			mu.Lock()
			defer mu.Unlock()
			for _, c := range cs {
				for _, line := range Changes(c.Prev, c.Cur) {
					pending = append(pending, change{rev: c.Rev, activation: c.Activation, line: line})
				}
			}
		})
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-watchErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch recipients: %w", err) // a *tocsin.CompactedError stays one
		case <-tick.C:
		}
		mu.Lock()
		batch := pending
		pending = nil
		mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if mark, err = r.flush(ctx, batch, mark); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Put them back: the next flush tries again.
			mu.Lock()
			pending = append(batch, pending...)
			mu.Unlock()
			log.Warn("recipients' changes not recorded yet", "changes", len(batch), "err", err)
		}
	}
}

// flush appends the entries of batch and moves the mark to its last
// revision. When another replica moved the mark first, the changes it
// covers are dropped and the rest retried.
func (r *Recipients) flush(ctx context.Context, batch []change, mark tocsin.AuditMark) (tocsin.AuditMark, error) {
	for range maxTries {
		batch = slices.DeleteFunc(batch, func(c change) bool { return c.rev <= mark.Rev })
		if len(batch) == 0 {
			return mark, nil
		}
		groups := entriesOf(batch, r.now().UTC())
		// Past maxEntries entries the mark moves once the last group is in:
		// a replica dying in between would record the first groups twice,
		// never lose one.
		for len(groups) > 0 {
			n := min(len(groups), maxEntries)
			to := mark.Rev
			if n == len(groups) {
				to = batch[len(batch)-1].rev
			}
			head, err := r.Store.AuditHead(ctx)
			if err != nil {
				return mark, err
			}
			es := make([]tocsin.AuditEntry, n)
			after := head
			for i := range es {
				es[i] = Seal(groups[i], after)
				after = tocsin.AuditHead{Seq: es[i].Seq, Hash: es[i].Hash}
			}
			ok, err := r.Store.AppendAuditMarked(ctx, es, head, mark, to)
			if err != nil {
				return mark, err
			}
			if ok {
				appended(r.Observer, ViaRecipients, n)
			}
			if mark, err = r.Store.AuditMark(ctx); err != nil {
				return mark, err
			}
			if !ok {
				break // the head or the mark moved: look again
			}
			groups = groups[n:]
		}
		if len(groups) == 0 {
			return mark, nil
		}
	}
	return mark, errors.New("record recipients' changes: too much contention")
}

// entriesOf groups changes by activation, in the order each first
// changed, at most maxLines to an entry.
func entriesOf(batch []change, at time.Time) []tocsin.AuditEntry {
	var order []string
	lines := map[string][]string{}
	for _, c := range batch {
		if _, ok := lines[c.activation]; !ok {
			order = append(order, c.activation)
		}
		lines[c.activation] = append(lines[c.activation], c.line)
	}
	var out []tocsin.AuditEntry
	for _, id := range order {
		for ls := range slices.Chunk(lines[id], maxLines) {
			out = append(out, tocsin.AuditEntry{At: at, Actor: "twilio", Action: tocsin.AuditRecipients, Activation: id,
				Detail: strings.Join(ls, " ; ")})
		}
	}
	return out
}

// Changes says, in French, what a write changed in a recipient that the
// trail records: a first delivery, a failure with nothing left on the
// ladder, an acknowledgement by SMS or key press. A creation (prev nil)
// records nothing: it is the activation's, or an import's.
func Changes(prev, cur *tocsin.Recipient) []string {
	if prev == nil || prev.Status == cur.Status {
		return nil
	}
	who := cur.Official.ID
	switch cur.Status {
	case tocsin.StatusDelivered:
		for _, at := range prev.Attempts {
			if at.Status.Reached() {
				return nil // delivered before: not the first time
			}
		}
		for _, at := range cur.Attempts {
			if at.Status.Reached() && at.Route == tocsin.SecondaryRoute {
				return []string{who + " : message distribué par la route de secours"}
			}
		}
		return []string{who + " : message distribué"}
	case tocsin.StatusFailed:
		return []string{who + " : échec, plus rien à tenter sur l'échelle"}
	case tocsin.StatusInformed:
		switch cur.InformedHow {
		case "sms":
			return []string{who + " : informé·e par réponse SMS"}
		case "voice":
			return []string{who + " : informé·e par la touche 1 pendant l'appel"}
		}
	}
	return nil
}

// informedIn returns the officials a recipients.changed entry says were
// informed: its lines, joined by " ; ", read "<official id> : <change>",
// and ids hold neither spaces nor semicolons.
func informedIn(detail string) []string {
	var out []string
	for _, line := range strings.Split(detail, " ; ") {
		if id, change, ok := strings.Cut(line, " : "); ok && strings.HasPrefix(change, "informé·e") {
			out = append(out, id)
		}
	}
	return out
}
