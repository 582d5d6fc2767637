package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store keeps the trail: the chain, the outbox of entries written with
// their changes, and the records verify checks the trail against.
type Store interface {
	Chain
	Outbox
	Records
}

// Chain is the hash-chained trail.
type Chain interface {
	// AuditHead returns the last entry's number and hash (zero when empty).
	AuditHead(ctx context.Context) (tocsin.AuditHead, error)
	// AppendAudit stores e and makes it the head, only if the head is
	// still after (same revision); it reports whether it did.
	AppendAudit(ctx context.Context, e tocsin.AuditEntry, after tocsin.AuditHead) (bool, error)
	// AuditPage returns up to limit entries stored after entry n° after,
	// in storage order, and the head, read at revision rev (0: the latest).
	AuditPage(ctx context.Context, after uint64, limit int, rev int64) (tocsin.AuditPage, error)
	// AuditLatest returns the last limit entries, newest first, and the
	// head read with them.
	AuditLatest(ctx context.Context, limit int) ([]tocsin.AuditEntry, tocsin.AuditHead, error)
}

// Outbox holds the entries that store writes put in the same transaction
// as the change they record, until they are chained.
type Outbox interface {
	// AuditOutbox returns up to limit records (0: all) in the order they
	// were committed, read at revision rev (0: the latest).
	AuditOutbox(ctx context.Context, limit int, rev int64) ([]tocsin.AuditPending, error)
	// ChainAudit puts es, sealed after head after, in place of the
	// records from, one for one, in one transaction, only if the head is
	// still after and every record still waits; it reports whether it did.
	ChainAudit(ctx context.Context, es []tocsin.AuditEntry, after tocsin.AuditHead, from []tocsin.AuditPending) (bool, error)
}

// DefaultPageSize is how many entries one read of the store returns.
const DefaultPageSize = 500

// Log appends to the trail and reads it.
type Log struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	// draining holds a token while this replica drains the outbox:
	// drains on one replica take turns rather than race on the head.
	draining chan struct{}
	// PageSize bounds the entries one read of the store returns, and so
	// the memory a verification or an export holds; 0 means
	// DefaultPageSize.
	PageSize int
	// Observer is told the entries appended and the verifications, for
	// metrics; nil: nobody is. Set it before the log is used.
	Observer Observer
	// Anchor signs checkpoints of the head and keeps them outside the
	// store; verify checks the trail against them. nil: the trail is not
	// anchored. Set it before the log is used.
	Anchor *Anchor

	// last is the latest verification on this replica, and when it ran.
	lastMu sync.Mutex
	last   *Result
	lastAt time.Time
}

// New returns a log over store; now stamps entries (nil: time.Now).
func New(store Store, now func() time.Time, logger *slog.Logger) *Log {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{store: store, now: now, log: logger.With("component", "audit"), draining: make(chan struct{}, 1)}
}

// maxTries bounds how often an append retries after another replica
// appended first.
const maxTries = 200

// Append adds an entry by actor, at once, outside any change of the
// store: for an action that changes nothing but the trail (an export),
// which is not to be done unless recorded. A change is recorded with its
// store write instead (the outbox, Drain). It retries when another
// replica appended at the same time, and returns the entry as stored.
func (l *Log) Append(ctx context.Context, actor, action, activation, detail string) (tocsin.AuditEntry, error) {
	for try := 0; try < maxTries; try++ {
		head, err := l.store.AuditHead(ctx)
		if err != nil {
			return tocsin.AuditEntry{}, fmt.Errorf("audit head: %w", err)
		}
		e := Seal(tocsin.AuditEntry{At: l.now(), Actor: actor, Action: action, Activation: activation, Detail: detail}, head)
		ok, err := l.store.AppendAudit(ctx, e, head)
		if err != nil {
			return tocsin.AuditEntry{}, fmt.Errorf("append audit: %w", err)
		}
		if ok {
			appended(l.Observer, ViaDirect, 1)
			return e, nil
		}
		if err := spread(ctx, try); err != nil {
			return tocsin.AuditEntry{}, err
		}
	}
	return tocsin.AuditEntry{}, errors.New("append audit: too much contention")
}

// spread waits a little before the next try, past the first few, so that
// many replicas retrying at once do not keep colliding.
func spread(ctx context.Context, try int) error {
	if try <= 2 {
		return nil
	}
	select {
	case <-time.After(time.Duration(rand.IntN(5)+1) * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Filter selects entries; zero fields select everything.
type Filter struct {
	From, To   time.Time // [From, To)
	Activation string
	// Before, when not 0, selects the entries numbered below it: those a
	// count saw (Count), so that an export recorded before it is streamed
	// holds what its entry says, and not itself.
	Before uint64
}

// Match reports whether e is selected.
func (f Filter) Match(e *tocsin.AuditEntry) bool {
	return (f.From.IsZero() || !e.At.Before(f.From)) && (f.To.IsZero() || e.At.Before(f.To)) &&
		(f.Activation == "" || e.Activation == f.Activation) && (f.Before == 0 || e.Pos < f.Before)
}

func (l *Log) pageSize() int {
	if l.PageSize > 0 {
		return l.PageSize
	}
	return DefaultPageSize
}

// List returns up to limit entries that match f, oldest first, stored
// after entry n° after. next is the after of the following page, 0 when
// the trail ends here.
func (l *Log) List(ctx context.Context, f Filter, after uint64, limit int) (entries []tocsin.AuditEntry, next uint64, err error) {
	entries = []tocsin.AuditEntry{}
	var rev int64
	for {
		p, err := l.store.AuditPage(ctx, after, l.pageSize(), rev)
		if err != nil {
			return nil, 0, err
		}
		rev = p.Rev
		for i := range p.Entries {
			e := &p.Entries[i]
			after = e.Pos
			if !f.Match(e) {
				continue
			}
			if entries = append(entries, *e); len(entries) == limit {
				if i < len(p.Entries)-1 || p.More {
					return entries, after, nil
				}
				return entries, 0, nil
			}
		}
		if !p.More || len(p.Entries) == 0 {
			return entries, 0, nil
		}
	}
}

// Walk calls fn with every entry that matches f, oldest first, reading the
// trail page by page at one revision: memory stays bounded however long
// the trail is. It stops at fn's first error and returns it.
func (l *Log) Walk(ctx context.Context, f Filter, fn func(e *tocsin.AuditEntry) error) error {
	_, _, err := l.walk(ctx, func(e *tocsin.AuditEntry) error {
		if f.Match(e) {
			return fn(e)
		}
		return nil
	})
	return err
}

// Count returns how many entries match f, and the number after the last
// entry of the trail it read: a Walk with Before set to it selects the
// same entries, whatever is appended meanwhile.
func (l *Log) Count(ctx context.Context, f Filter) (n int, before uint64, err error) {
	head, _, err := l.walk(ctx, func(e *tocsin.AuditEntry) error {
		if f.Match(e) {
			n++
		}
		return nil
	})
	return n, head.Seq + 1, err
}

// errStop ends a walk early without an error.
var errStop = errors.New("stop")

// walk reads every entry in storage order at one revision and returns the
// head read with them and that revision.
func (l *Log) walk(ctx context.Context, fn func(e *tocsin.AuditEntry) error) (tocsin.AuditHead, int64, error) {
	var after uint64
	var rev int64
	for {
		p, err := l.store.AuditPage(ctx, after, l.pageSize(), rev)
		if err != nil {
			return tocsin.AuditHead{}, 0, err
		}
		rev = p.Rev
		for i := range p.Entries {
			if err := fn(&p.Entries[i]); err != nil {
				return p.Head, rev, err
			}
			after = p.Entries[i].Pos
		}
		if !p.More || len(p.Entries) == 0 {
			return p.Head, rev, nil
		}
	}
}

// Verify recomputes the whole chain, page by page at one revision,
// carrying the previous hash from one page to the next, and names the
// first entry that does not match. When the chain holds, it checks the
// store's records at that revision against it: every activation has the
// entry of its creation (or import), every informed recipient an entry
// saying so; what is missing is named, and fails the verification.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	res, err := l.verify(ctx)
	if l.Observer != nil {
		l.Observer.Verified(res, err)
	}
	if err == nil {
		l.lastMu.Lock()
		l.last, l.lastAt = &res, l.now()
		l.lastMu.Unlock()
	}
	return res, err
}

// VerifyRecent returns the latest verification made on this replica if it
// is younger than maxAge, and verifies again otherwise, with when it ran:
// a verification reads the whole trail and every record it accounts for,
// which pages that are opened often cannot afford each time.
func (l *Log) VerifyRecent(ctx context.Context, maxAge time.Duration) (Result, time.Time, error) {
	l.lastMu.Lock()
	last, at := l.last, l.lastAt
	l.lastMu.Unlock()
	if last != nil && l.now().Sub(at) < maxAge {
		return *last, at, nil
	}
	res, err := l.Verify(ctx)
	return res, l.now(), err
}

// Latest returns the last limit entries of the trail, newest first, and
// how many the trail holds, in one read however long it is.
func (l *Log) Latest(ctx context.Context, limit int) ([]tocsin.AuditEntry, int, error) {
	es, head, err := l.store.AuditLatest(ctx, limit)
	return es, int(head.Seq), err
}

func (l *Log) verify(ctx context.Context) (Result, error) {
	anchor, err := l.anchorCheck()
	if err != nil {
		return Result{}, err
	}
	res, err := l.verifyAnchored(ctx, anchor)
	if err != nil {
		return Result{}, err
	}
	report := anchor.Report()
	res.Anchor = &report
	if report.InvalidCount > 0 {
		res.OK = false
	}
	return res, nil
}

// verifyAnchored verifies the chain against anchor's checkpoints too.
func (l *Log) verifyAnchored(ctx context.Context, anchor *AnchorCheck) (Result, error) {
	var v verifier
	var res Result
	cov := newCoverage()
	head, rev, err := l.walk(ctx, func(e *tocsin.AuditEntry) error {
		b := v.add(e)
		if b == nil {
			b = anchor.Add(e)
		}
		if b != nil {
			res = Result{Entries: int(v.n), Break: b}
			return errStop
		}
		cov.add(e)
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return res, nil
	case err != nil:
		return Result{}, err
	}
	if res = v.finish(head); !res.OK {
		return res, nil
	}
	if b := anchor.Finish(v.n); b != nil {
		res.OK, res.Break = false, b
		return res, nil
	}
	if err := l.crosscheck(ctx, rev, cov, &res); err != nil {
		return Result{}, err
	}
	res.OK = res.MissingCount == 0
	return res, nil
}
