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
	rec := &audit.Recipients{Store: a.store, Now: a.cfg.Clock.Now, Log: a.log.With("component", "audit")}
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
