package app

import (
	"context"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
)

// Writes in several transactions leave unreachable data when they fail
// (etcd.Store.CollectLeftovers). The leader collects what is older than
// leftoverGrace, far longer than any write's deadline, so that nothing a
// write still in flight may make current is taken. Ages are wall-clock:
// they guard against writes in flight, which run in real time.
const (
	leftoverGrace = 10 * time.Minute
	collectEvery  = 5 * time.Minute
)

// revisionSeen is a store revision and when the leader read it: a key
// written at or before rev is at least as old as at.
type revisionSeen struct {
	rev int64
	at  time.Time
}

// revisions remembers the revisions the collector read, to tell which
// revision is older than the grace.
type revisions struct{ seen []revisionSeen }

// add notes rev, read at now.
func (r *revisions) add(rev int64, now time.Time) { r.seen = append(r.seen, revisionSeen{rev, now}) }

// before returns the newest revision read at least grace before now (0
// when none), and forgets the older ones.
func (r *revisions) before(now time.Time, grace time.Duration) int64 {
	var rev int64
	i := 0
	for i < len(r.seen) && !r.seen[i].at.After(now.Add(-grace)) {
		rev = r.seen[i].rev
		i++
	}
	if i > 0 {
		r.seen = r.seen[i-1:] // keep the one returned: it may serve again
	}
	return rev
}

// collectLeftovers collects leftovers while ctx lasts (this replica
// leads), through the leader's fenced store. It notes the revision at
// takeover and at each turn; the first collection happens once a
// revision read by this leader is older than the grace.
func (a *App) collectLeftovers(ctx context.Context, st *etcd.Store) {
	var seen revisions
	tick := time.NewTicker(collectEvery)
	defer tick.Stop()
	for {
		if rev, err := st.Revision(ctx); err == nil {
			seen.add(rev, time.Now())
		}
		if upTo := seen.before(time.Now(), leftoverGrace); upTo > 0 {
			got, err := st.CollectLeftovers(ctx, upTo)
			switch {
			case err != nil && ctx.Err() == nil:
				a.log.Warn("collecting leftovers", "err", err)
			case got.Activations > 0 || got.Versions > 0:
				a.log.Info("leftovers collected", "activations", got.Activations, "directory_versions", got.Versions)
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
