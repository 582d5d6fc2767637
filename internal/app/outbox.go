package app

import (
	"context"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
)

// keepStore does the leader's housekeeping of the store while ctx lasts:
// it chains the audit outbox and collects the leftovers of failed writes
// (leftovers.go), through st, the leader's fenced store.
func (a *App) keepStore(ctx context.Context, st *etcd.Store) {
	var wg sync.WaitGroup
	wg.Go(func() { a.drainAuditOutbox(ctx) })
	wg.Go(func() { a.collectLeftovers(ctx, st) })
	wg.Wait()
}

// drainEvery is how often the leader chains the audit entries that the
// request path left in the outbox (its drain failed, or its replica died
// between the change and the drain). Wall-clock time: it is
// housekeeping, not a step of an activation.
const drainEvery = 3 * time.Second

// drainTimeout bounds one drain, so that a store outage does not hold
// the loop past its next turn.
const drainTimeout = 30 * time.Second

// drainAuditOutbox chains the outbox's entries while ctx lasts (this
// replica leads): at once, for what was left while no replica led, then
// every drainEvery.
func (a *App) drainAuditOutbox(ctx context.Context) {
	tick := time.NewTicker(drainEvery)
	defer tick.Stop()
	for {
		a.drainOnce(ctx)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// drainOnce chains what waits in the outbox, logging a failure: the next
// turn tries again.
func (a *App) drainOnce(ctx context.Context) {
	dctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	n, err := a.audit.Drain(dctx)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("audit outbox not drained yet", "chained", n, "err", err)
	case n > 0:
		a.log.Info("audit outbox drained", "chained", n)
	}
}
