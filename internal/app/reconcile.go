package app

import (
	"context"
	"slices"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/reconcile"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// reconcileWithProvider brings back, while this replica leads, the replies
// and statuses whose webhooks were lost, from the provider's records.
func (a *App) reconcileWithProvider(ctx context.Context) {
	reconcile.New(reconcile.Config{
		Store:     a.open,
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

// openActivations reads the open activations, and their recipients from
// a follower: a periodic reader of an activation of 35,000 officials
// decodes only those that changed since its last read. The follower
// forgets the activations that closed at each reading of those open.
type openActivations struct {
	store    *etcd.Store
	follower *etcd.RecipientsFollower
}

// OpenActivations returns the open activations, and lets the follower
// forget the others.
func (o openActivations) OpenActivations(ctx context.Context) ([]tocsin.Activation, error) {
	acts, err := o.store.OpenActivations(ctx)
	if err != nil {
		return nil, err
	}
	o.follower.Forget(func(id string) bool {
		return slices.ContainsFunc(acts, func(a tocsin.Activation) bool { return a.ID == id })
	})
	return acts, nil
}

// Recipients returns an open activation's recipients, sorted by official
// id; their attempts and numbers are shared and must not be changed.
func (o openActivations) Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error) {
	return o.follower.Recipients(ctx, id)
}
