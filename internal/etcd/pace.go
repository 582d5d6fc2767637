package etcd

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// pace holds the leader's effective sending rates, for every replica's
// views and forecasts.

func (s *Store) paceKey() string { return s.key("pace") }

// SetPace publishes the effective rates. Through the leader's fenced
// store, a deposed leader's write is refused (ErrNotLeader).
func (s *Store) SetPace(ctx context.Context, p tocsin.Pace) error {
	_, err := s.txnOK(ctx, clientv3.OpPut(s.paceKey(), mustJSON(p)))
	return err
}

// Pace returns the effective rates as last published; a zero Pace when
// none was.
func (s *Store) Pace(ctx context.Context) (tocsin.Pace, error) {
	var p tocsin.Pace
	_, err := s.getJSON(ctx, s.paceKey(), &p)
	return p, err
}
