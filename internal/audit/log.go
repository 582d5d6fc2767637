package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store keeps the trail.
type Store interface {
	// AuditHead returns the last entry's number and hash (zero when empty).
	AuditHead(ctx context.Context) (tocsin.AuditHead, error)
	// AppendAudit stores e and makes it the head, only if the head is
	// still after (same revision); it reports whether it did.
	AppendAudit(ctx context.Context, e tocsin.AuditEntry, after tocsin.AuditHead) (bool, error)
	// AuditPage returns up to limit entries stored after entry n° after,
	// in storage order, and the head, read at revision rev (0: the latest).
	AuditPage(ctx context.Context, after uint64, limit int, rev int64) (tocsin.AuditPage, error)
}

// DefaultPageSize is how many entries one read of the store returns.
const DefaultPageSize = 500

// Log appends to the trail and reads it.
type Log struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	// PageSize bounds the entries one read of the store returns, and so
	// the memory a verification or an export holds; 0 means
	// DefaultPageSize.
	PageSize int
}

// New returns a log over store; now stamps entries (nil: time.Now).
func New(store Store, now func() time.Time, logger *slog.Logger) *Log {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{store: store, now: now, log: logger.With("component", "audit")}
}

// maxTries bounds how often an append retries after another replica
// appended first.
const maxTries = 200

// Append adds an entry by actor. It retries when another replica appended
// at the same time, and returns the entry as stored.
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
			return e, nil
		}
		if try > 2 {
			// Many replicas at once: spread the retries.
			select {
			case <-time.After(time.Duration(rand.IntN(5)+1) * time.Millisecond):
			case <-ctx.Done():
				return tocsin.AuditEntry{}, ctx.Err()
			}
		}
	}
	return tocsin.AuditEntry{}, errors.New("append audit: too much contention")
}

// Record appends an entry and logs a failure instead of returning it: for
// callers whose action already happened and must not be reported failed.
func (l *Log) Record(ctx context.Context, actor, action, activation, detail string) {
	if _, err := l.Append(context.WithoutCancel(ctx), actor, action, activation, detail); err != nil {
		l.log.Error("audit entry lost", "action", action, "actor", actor, "activation", activation, "err", err)
	}
}

// Filter selects entries; zero fields select everything.
type Filter struct {
	From, To   time.Time // [From, To)
	Activation string
}

// Match reports whether e is selected.
func (f Filter) Match(e *tocsin.AuditEntry) bool {
	return (f.From.IsZero() || !e.At.Before(f.From)) && (f.To.IsZero() || e.At.Before(f.To)) &&
		(f.Activation == "" || e.Activation == f.Activation)
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
	_, err := l.walk(ctx, func(e *tocsin.AuditEntry) error {
		if f.Match(e) {
			return fn(e)
		}
		return nil
	})
	return err
}

// errStop ends a walk early without an error.
var errStop = errors.New("stop")

// walk reads every entry in storage order at one revision and returns the
// head read with them.
func (l *Log) walk(ctx context.Context, fn func(e *tocsin.AuditEntry) error) (tocsin.AuditHead, error) {
	var after uint64
	var rev int64
	for {
		p, err := l.store.AuditPage(ctx, after, l.pageSize(), rev)
		if err != nil {
			return tocsin.AuditHead{}, err
		}
		rev = p.Rev
		for i := range p.Entries {
			if err := fn(&p.Entries[i]); err != nil {
				return p.Head, err
			}
			after = p.Entries[i].Pos
		}
		if !p.More || len(p.Entries) == 0 {
			return p.Head, nil
		}
	}
}

// Verify recomputes the whole chain, page by page at one revision,
// carrying the previous hash from one page to the next, and names the
// first entry that does not match.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	var v verifier
	var res Result
	head, err := l.walk(ctx, func(e *tocsin.AuditEntry) error {
		if b := v.add(e); b != nil {
			res = Result{Entries: int(v.n), Break: b}
			return errStop
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return res, nil
	case err != nil:
		return Result{}, err
	}
	return v.finish(head), nil
}
