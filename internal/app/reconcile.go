package app

import (
	"context"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/reconcile"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// reconcileWithProvider brings back, while this replica leads, the replies
// and statuses whose webhooks were lost, from the provider's records.
func (a *App) reconcileWithProvider(ctx context.Context) {
	reconcile.New(reconcile.Config{
		Store:     a.store,
		Replies:   a.listReplies,
		FetchSMS:  a.fetchSMS,
		FetchCall: a.fetchCall,
		ApplyReply: func(ctx context.Context, in tocsin.Inbound) (bool, error) {
			outcome, err := a.service.Reply(ctx, in)
			return outcome == activation.ReplyInformed, err
		},
		ApplyStatus: func(ctx context.Context, ref reconcile.Ref, pm tocsin.ProviderMessage) error {
			return a.service.RecordStatus(ctx, activation.AttemptRef(ref),
				activation.StatusReport{SID: pm.SID, Status: pm.Status, ErrorCode: pm.ErrorCode, Recovered: true})
		},
		Observe: func(res reconcile.Result, err error) {
			a.metrics.Reconciled(res.Replies, res.Informed, res.Statuses, err)
		},
		Healthy:  a.store.Ping,
		Interval: a.cfg.ReconcileInterval,
		Now:      a.cfg.Clock.Now,
		Logger:   a.log,
	}).Run(ctx)
}
