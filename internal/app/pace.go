package app

import (
	"context"
	"math"
	"time"

	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

const (
	// paceEvery is how often the leader looks at its pace.
	paceEvery = time.Second
	// paceHeartbeat is how often a limited pace is published again even
	// unchanged, so that it stays fresh (tocsin.PaceFreshFor) for readers.
	paceHeartbeat = 10 * time.Second
)

// publishPace writes, while this replica leads, the dispatcher's effective
// rates where every replica reads them for its views and forecasts: when
// they change, and every paceHeartbeat while the provider limits them.
func (a *App) publishPace(ctx context.Context, st *etcd.Store) {
	tick := time.NewTicker(paceEvery)
	defer tick.Stop()
	var last *tocsin.Pace
	var lastAt time.Time
	for {
		now := a.cfg.Clock.Now()
		p := paceOf(a.dispatcher.Pace(), a.dispatcher.Route(), now)
		if last == nil || paceChanged(last, &p) || ((p.Limited() || p.Route == tocsin.SecondaryRoute) && now.Sub(lastAt) >= paceHeartbeat) {
			if err := st.SetPace(ctx, p); err == nil {
				last, lastAt = &p, now
			} else if ctx.Err() == nil {
				a.log.Debug("pace not published", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func paceOf(ps map[tocsin.Channel]dispatch.Pace, route string, now time.Time) tocsin.Pace {
	p := tocsin.Pace{Route: route, At: now.UTC()}
	for kind, c := range ps {
		cp := &tocsin.ChannelPace{PerSecond: c.PerSecond, Ceiling: c.Ceiling, Limited: c.Limited}
		switch kind {
		case tocsin.SMS:
			p.SMS = cp
		case tocsin.Voice:
			p.Voice = cp
		}
	}
	return p
}

// paceChanged reports whether the route changed, a channel became limited
// or free, or its rate moved by more than 2 %.
func paceChanged(a, b *tocsin.Pace) bool {
	differ := func(x, y *tocsin.ChannelPace) bool {
		if x == nil || y == nil {
			return x != y
		}
		return x.Limited != y.Limited || math.Abs(x.PerSecond-y.PerSecond) > 0.02*max(x.PerSecond, y.PerSecond)
	}
	return a.Route != b.Route || differ(a.SMS, b.SMS) || differ(a.Voice, b.Voice)
}
