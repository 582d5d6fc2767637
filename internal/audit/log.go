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
	// AuditEntries returns every entry in storage order, and the head, both
	// read at one revision.
	AuditEntries(ctx context.Context) ([]tocsin.AuditEntry, tocsin.AuditHead, error)
}

// Log appends to the trail and reads it.
type Log struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
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

// Entries returns the entries that match f, oldest first.
func (l *Log) Entries(ctx context.Context, f Filter) ([]tocsin.AuditEntry, error) {
	all, _, err := l.store.AuditEntries(ctx)
	if err != nil {
		return nil, err
	}
	out := []tocsin.AuditEntry{}
	for _, e := range all {
		if (!f.From.IsZero() && e.At.Before(f.From)) || (!f.To.IsZero() && !e.At.Before(f.To)) ||
			(f.Activation != "" && e.Activation != f.Activation) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// Verify recomputes the whole chain.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	all, head, err := l.store.AuditEntries(ctx)
	if err != nil {
		return Result{}, err
	}
	return Verify(all, head), nil
}
