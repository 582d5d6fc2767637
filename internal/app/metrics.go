package app

import (
	"context"
	"slices"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/prometheus"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/web"
)

// The engines tell what they do to small observers; these adapters turn
// it into metrics.

// dispatchObserver counts the leader's provider calls and shows its pace.
type dispatchObserver struct{ m *prometheus.Metrics }

var _ dispatch.Observer = dispatchObserver{}

func (o dispatchObserver) Sent(channel tocsin.Channel, route string, result dispatch.Result, reason tocsin.Reason, took time.Duration) {
	label := prometheus.NoReason
	if result != dispatch.Accepted {
		label = reason.String()
	}
	o.m.Sent(channel, route, string(result), label, took)
}

func (o dispatchObserver) Settled(channel tocsin.Channel, route string, found bool) {
	o.m.Settled(channel, route, found)
}

func (o dispatchObserver) Pace(channel tocsin.Channel, perSecond, ceiling float64, limited bool) {
	o.m.Pace(channel, perSecond, ceiling, limited)
}

// webObserver counts webhooks, logins and websocket drops.
type webObserver struct{ m *prometheus.Metrics }

var (
	_ web.Observer           = webObserver{}
	_ web.PublicCallObserver = webObserver{}
)

func (o webObserver) Webhook(kind string, result web.WebhookResult, took time.Duration) {
	o.m.Webhook(kind, string(result), took)
}
func (o webObserver) Login(result web.LoginResult) { o.m.Login(string(result)) }
func (o webObserver) LiveDropped(reason string)    { o.m.LiveDropped(reason) }
func (o webObserver) PublicCall(outcome string)    { o.m.PublicCall(outcome) }

// auditObserver counts the entries appended and the verifications.
type auditObserver struct{ m *prometheus.Metrics }

var _ audit.Observer = auditObserver{}

func (o auditObserver) Appended(via audit.Via, n int) { o.m.AuditAppended(string(via), n) }

func (o auditObserver) Verified(res audit.Result, err error) {
	// Prometheus compares it with its own time(): the wall clock.
	o.m.AuditVerified(prometheus.Verification{At: time.Now(), Entries: res.Entries,
		Intact: res.Break == nil && (res.Anchor == nil || res.Anchor.InvalidCount == 0), Missing: res.MissingCount > 0}, err)
}

var _ audit.CheckpointObserver = auditObserver{}

// Checkpointed records the time of the checkpoint: the wall clock, as
// Prometheus compares it with its own time().
func (o auditObserver) Checkpointed(audit.Checkpoint) { o.m.AuditCheckpointed(time.Now()) }

// metricsState is what the gauges computed at scrape time read.
func (a *App) metricsState(live func() int) prometheus.State {
	return prometheus.State{
		Ping:        a.store.Ping,
		Activations: a.openActivationFigures,
		Exercises:   a.exerciseFigures,
		LiveClients: live,
		Now:         a.cfg.Clock.Now,
		CacheFor:    a.cfg.MetricsCacheFor,
	}
}

// openActivationFigures reads the open activations and their recipients.
func (a *App) openActivationFigures(ctx context.Context) ([]prometheus.Activation, error) {
	acts, err := a.open.OpenActivations(ctx)
	if err != nil {
		return nil, err
	}
	// Every replica forecasts at the rates the leader publishes.
	rates := a.rates()
	if pace, err := a.store.Pace(ctx); err == nil && pace.Fresh(a.cfg.Clock.Now()) {
		rates = rates.Apply(&pace)
	}
	out := make([]prometheus.Activation, 0, len(acts))
	for i := range acts {
		act := &acts[i]
		if act.CIPFor != "" {
			continue // a CIP's call-out is not an activation of the cell
		}
		rs, err := a.open.Recipients(ctx, act.ID)
		if err != nil {
			return nil, err
		}
		now := a.cfg.Clock.Now()
		sum := act.Summarize(rs, now)
		f := prometheus.Activation{
			ID: act.ID, Exercise: act.Exercise,
			Targeted: sum.Targeted, Informed: sum.Informed, ToCall: sum.ToCall, Failed: sum.Failed,
			ActivatedAt: act.ActivatedAt, Deadline: act.Deadline,
			ForecastLastInformed: forecastLastInformed(act, rs, sum, now, rates),
		}
		if c, err := a.store.CIPCell(ctx, act.ID); err != nil {
			return nil, err
		} else if c != nil && c.ClosedAt == nil {
			waiting, err := a.store.WaitingCalls(ctx, act.ID, now.Add(-tocsin.LostAfter))
			if err != nil {
				return nil, err
			}
			f.CIP, f.CIPWaiting = true, waiting
		}
		out = append(out, f)
	}
	return out, nil
}

// forecastLastInformed is, from the activation, when its last official
// can at best be informed: the actual time once all are; before that, the
// ladder's forecast at rates for the officials not informed yet (when
// every rung due before the deadline can have reached them), and never
// earlier than now. It changes rs.
func forecastLastInformed(act *tocsin.Activation, rs []tocsin.Recipient, sum tocsin.Summary, now time.Time, rates tocsin.Rates) time.Duration {
	if sum.InformDelay != nil {
		return time.Duration(*sum.InformDelay * float64(time.Second))
	}
	waiting := slices.DeleteFunc(rs, func(r tocsin.Recipient) bool { return r.InformedAt != nil })
	deadline := act.Deadline.Sub(act.ActivatedAt)
	var done time.Duration
	for _, rf := range tocsin.ForecastLadder(act.Ladder, waiting, deadline, rates).Rungs {
		if rf.After < deadline && rf.Contacts > 0 {
			done = max(done, rf.Done)
		}
	}
	return max(done, now.Sub(act.ActivatedAt))
}

// exerciseFigures reads the exercise calendar.
func (a *App) exerciseFigures(ctx context.Context) (prometheus.Exercises, error) {
	cal, err := a.exerciseCalendar(ctx)
	if err != nil {
		return prometheus.Exercises{}, err
	}
	now := a.cfg.Clock.Now()
	year := time.Date(now.In(tocsin.Paris()).Year(), time.January, 1, 0, 0, 0, 0, tocsin.Paris())
	ex := prometheus.Exercises{Awaiting: len(cal.Awaiting)}
	for _, r := range cal.Runs {
		if !r.Due.Before(year) && exercise.DidNotHappen(r) {
			ex.Missed++
		}
	}
	if len(cal.Next) > 0 {
		ex.Next = cal.Next[0]
	}
	return ex, nil
}
