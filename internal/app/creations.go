package app

import (
	"context"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// creationStall is how long a creation's progress may stay still before
// the leader takes it over: the replica writing it writes a part every
// few milliseconds, so a second without one means it died or lost etcd.
const creationStall = time.Second

// background runs f past the request that started it, with a context that
// ends when the replica stops.
func (a *App) background(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(a.bg)
	}()
}

// finishCreations finishes, while this replica leads, the creations of
// large activations that stopped moving: the replica that began one died
// or lost etcd half-way. A creation still moving is left to its replica;
// two writers never write a part twice (activation.Service.Finish).
func (a *App) finishCreations(ctx context.Context) {
	var last map[string]int64
	tick := time.NewTicker(creationStall)
	defer tick.Stop()
	for {
		now, err := a.store.Creations(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("reading creations in progress", "err", err)
		case err == nil:
			for id, rev := range now {
				if last[id] != rev {
					continue
				}
				a.log.Warn("creation stalled: the leader finishes it", "activation", id)
				if err := a.service.Finish(ctx, id); err != nil && ctx.Err() == nil && tocsin.ErrorCode(err) != tocsin.EConflict {
					a.log.Warn("finishing a creation", "activation", id, "err", err)
				}
			}
			last = now
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// followDirectory keeps the directory in force decoded on this replica,
// ahead of any activation, again after each import.
func (a *App) followDirectory(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := a.store.FollowDirectory(ctx)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("directory watch broken", "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
