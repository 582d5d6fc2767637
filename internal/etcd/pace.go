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

func (s *Store) routeKey() string { return s.key("route") }

// SetRouteChoice records the duty officer's choice of provider route, with
// its audit entry.
func (s *Store) SetRouteChoice(ctx context.Context, c tocsin.RouteChoice, audit ...tocsin.AuditEntry) error {
	_, err := s.txnOK(ctx, append([]clientv3.Op{clientv3.OpPut(s.routeKey(), mustJSON(c))}, s.auditOps(audit)...)...)
	return err
}

// RouteChoice returns the duty officer's choice of route; mode "auto" when
// none was made.
func (s *Store) RouteChoice(ctx context.Context) (tocsin.RouteChoice, error) {
	c := tocsin.RouteChoice{Mode: tocsin.RouteAuto}
	_, err := s.getJSON(ctx, s.routeKey(), &c)
	return c, err
}
