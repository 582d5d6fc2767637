package app

import (
	"context"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
)

// recipientsRetry is how soon the leader records recipients' changes again
// after the store failed it.
const recipientsRetry = time.Second

// recordRecipientChanges records the recipients' state changes in the
// audit trail while ctx lasts (this replica leads).
func (a *App) recordRecipientChanges(ctx context.Context) {
	rec := &audit.Recipients{Store: a.store, Now: a.cfg.Clock.Now, Log: a.log.With("component", "audit"), Observer: auditObserver{a.metrics}}
	for {
		err := rec.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.log.Warn("recording recipients' changes in the audit trail", "err", err)
		select {
		case <-time.After(recipientsRetry):
		case <-ctx.Done():
			return
		}
	}
}

// The leader verifies the audit trail a while after taking the lead, then
// periodically, so that a trail rewritten or cut in etcd is found without
// anyone asking, and the metrics say when the trail was last found whole.
// Wall-clock time: it is housekeeping. The first verification waits, so
// that a takeover during an activation resumes dispatch before reading
// the whole trail.
const (
	DefaultAuditVerifyAfter = 10 * time.Minute
	DefaultAuditVerifyEvery = 6 * time.Hour
)

// verifyAuditTrail verifies the audit trail while ctx lasts (this replica
// leads). A broken trail is logged as an error; the metrics count it.
func (a *App) verifyAuditTrail(ctx context.Context) {
	after, every := a.cfg.AuditVerifyAfter, a.cfg.AuditVerifyEvery
	if after <= 0 {
		after = DefaultAuditVerifyAfter
	}
	if every <= 0 {
		every = DefaultAuditVerifyEvery
	}
	t := time.NewTimer(after)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		res, err := a.audit.Verify(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("audit trail not verified", "err", err)
			t.Reset(min(time.Minute, every))
			continue
		case res.Break != nil:
			a.log.Error("audit trail broken", "seq", res.Break.Seq, "reason", res.Break.Reason)
		case res.MissingCount > 0:
			a.log.Error("audit trail misses entries", "count", res.MissingCount)
		case !res.OK:
			a.log.Error("audit checkpoints invalid: forged, damaged or signed by an unknown key", "lines", res.Anchor.InvalidCount)
		default:
			a.log.Info("audit trail verified", "entries", res.Entries, "pending", res.PendingCount)
		}
		t.Reset(every)
	}
}
