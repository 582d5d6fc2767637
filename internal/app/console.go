package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/web"
)

// watchActivity feeds the console's live hub from etcd's watch.
func (a *App) watchActivity(ctx context.Context, after int64, want func(activation string) bool, fn func([]web.Change)) error {
	err := a.store.WatchActivity(ctx, after, want, func(cs []etcd.Change) {
		out := make([]web.Change, len(cs))
		for i, c := range cs {
			out[i] = web.Change(c)
		}
		fn(out)
	})
	if errors.Is(err, etcd.ErrCompacted) {
		return web.ErrCompacted
	}
	return err
}

// firstPassword gives the first administrator a generated console
// password and returns it, to be printed once beside the API token.
func (a *App) firstPassword(ctx context.Context, name string) (string, error) {
	password := web.GeneratePassword()
	hash, err := web.HashPassword(password)
	if err != nil {
		return "", err
	}
	if err := a.store.SetPasswordHash(ctx, name, hash); err != nil {
		return "", fmt.Errorf("set the first administrator's password: %w", err)
	}
	return password, nil
}

// Now is the time on the app's clock: what the console checks the codes
// of authenticator applications against.
func (a *App) Now() time.Time { return a.cfg.Clock.Now() }
