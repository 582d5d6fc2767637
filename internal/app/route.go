package app

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twilio"
)

// SecondaryRoute is another Twilio account, or another region or edge of
// the same one (its API URL), with its own sender number: it takes over
// when the primary fails.
type SecondaryRoute struct {
	AccountSID, AuthToken string
	From, MessagingSID    string
	CallerID              string
	APIURL                string
}

// configured reports whether a secondary route was given.
func (r SecondaryRoute) configured() bool { return r.AccountSID != "" }

// routes is what the app knows of its provider routes.
type routes struct {
	secondary *twilio.Provider // nil without a secondary route
	// choice holds the duty officer's choice, as the leader last read it.
	choice atomic.Value // tocsin.RouteMode
}

// openSecondary builds the secondary route's provider, when one is
// configured (never with the simulator).
func (a *App) openSecondary() error {
	r := a.cfg.SecondaryRoute
	a.routes.choice.Store(tocsin.RouteAuto)
	if !r.configured() || a.sim != nil {
		return nil
	}
	p, err := twilio.New(twilio.Config{AccountSID: r.AccountSID, AuthToken: r.AuthToken, From: r.From,
		MessagingServiceSID: r.MessagingSID, CallerID: r.CallerID, APIURL: r.APIURL}, a.log.With("route", tocsin.SecondaryRoute))
	if err != nil {
		return errors.New("secondary route: " + err.Error())
	}
	a.routes.secondary = p
	return nil
}

// dispatchSecondary is the secondary route for dispatch, nil without one.
func (a *App) dispatchSecondary() *dispatch.Route {
	if a.routes.secondary == nil {
		return nil
	}
	return &dispatch.Route{SMS: a.routes.secondary, Voice: a.routes.secondary, Ping: a.routes.secondary.Ping}
}

// routeMode is the duty officer's choice for dispatch.
func (a *App) routeMode() tocsin.RouteMode {
	m, _ := a.routes.choice.Load().(tocsin.RouteMode)
	if m == "" {
		return tocsin.RouteAuto
	}
	return m
}

// resumeRoute starts a new term on the route the previous leader last
// published, when it is recent: if the primary was down a moment ago, the
// new leader does not wait the failover delay again to learn it.
func (a *App) resumeRoute(ctx context.Context) {
	if a.routes.secondary == nil {
		return
	}
	p, err := a.store.Pace(ctx)
	if err == nil && p.Fresh(a.cfg.Clock.Now()) && p.Route == tocsin.SecondaryRoute {
		a.dispatcher.ResumeOn(p.Route)
		a.log.Info("resuming on the secondary route, as the previous leader left it")
	}
}

// routeChoiceEvery is how often the leader reads the duty officer's choice
// of route.
const routeChoiceEvery = 2 * time.Second

// followRouteChoice reads, while this replica leads, the duty officer's
// choice of route.
func (a *App) followRouteChoice(ctx context.Context) {
	if a.routes.secondary == nil {
		return
	}
	t := time.NewTicker(routeChoiceEvery)
	defer t.Stop()
	for {
		if c, err := a.store.RouteChoice(ctx); err == nil {
			a.routes.choice.Store(c.Mode)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// routeChanged records in the audit trail that sends changed route. The
// router tells it from a send: the entry is written aside, so that the send
// does not wait on etcd.
func (a *App) routeChanged(from, to, why string) {
	go a.auditRouteChange(from, to, why)
}

func (a *App) auditRouteChange(from, to, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.audit.Append(ctx, "tocsin", tocsin.AuditRoute, "", "envois par la route "+tocsin.RouteLabel(to)+" (au lieu de la route "+tocsin.RouteLabel(from)+") : "+why); err != nil {
		a.log.Error("route change not audited", "from", from, "to", to, "err", err)
	}
}

// validSignature checks a webhook against the primary account's token or
// the secondary's: both send replies and callbacks.
func (a *App) validSignature(primary *twilio.Validator) (func(path string, body []byte, sig string) bool, error) {
	if a.routes.secondary == nil {
		return primary.Valid, nil
	}
	second, err := twilio.NewValidator(a.cfg.SecondaryRoute.AuthToken, a.publicURL)
	if err != nil {
		return nil, err
	}
	return func(path string, body []byte, sig string) bool {
		return primary.Valid(path, body, sig) || second.Valid(path, body, sig)
	}, nil
}

// listReplies lists the replies both routes received, newest first.
func (a *App) listReplies(ctx context.Context, since time.Time) ([]tocsin.Inbound, error) {
	got, err := a.provider.ListReplies(ctx, since)
	if err != nil || a.routes.secondary == nil {
		return got, err
	}
	more, err := a.routes.secondary.ListReplies(ctx, since)
	if err != nil {
		return nil, err
	}
	got = append(got, more...)
	sort.SliceStable(got, func(i, j int) bool { return got[i].At.After(got[j].At) })
	return got, nil
}

// fetchSMS reads a message by SID on the route that knows it: SIDs are
// unique, each account knows only its own.
func (a *App) fetchSMS(ctx context.Context, sid string) (tocsin.ProviderMessage, error) {
	pm, err := a.provider.FetchSMS(ctx, sid)
	if errors.Is(err, twilio.ErrNoRecord) && a.routes.secondary != nil {
		return a.routes.secondary.FetchSMS(ctx, sid)
	}
	return pm, err
}

// fetchCall reads a call by SID on the route that knows it.
func (a *App) fetchCall(ctx context.Context, sid string) (tocsin.ProviderMessage, error) {
	pm, err := a.provider.FetchCall(ctx, sid)
	if errors.Is(err, twilio.ErrNoRecord) && a.routes.secondary != nil {
		return a.routes.secondary.FetchCall(ctx, sid)
	}
	return pm, err
}
