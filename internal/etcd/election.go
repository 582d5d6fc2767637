package etcd

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leadership is this replica's term as leader.
type Leadership struct {
	// Store writes fenced by this term: once another replica leads, its
	// writes fail with ErrNotLeader.
	Store    *Store
	session  *concurrency.Session
	election *concurrency.Election
}

// Campaign blocks until this replica is the leader, then returns its term.
// ttl is the session lease in seconds: how long a crashed leader keeps the
// role before another replica takes over.
func (s *Store) Campaign(ctx context.Context, id string, ttl int) (*Leadership, error) {
	session, err := concurrency.NewSession(s.cli, concurrency.WithTTL(ttl), concurrency.WithContext(ctx))
	if err != nil {
		return nil, unavailable(err)
	}
	e := concurrency.NewElection(session, s.key("leader"))
	// Campaign can return nil after the session's lease expired: tie it to
	// the session and check the session after.
	cctx, cancel := context.WithCancel(session.Ctx())
	stop := context.AfterFunc(ctx, cancel)
	err = e.Campaign(cctx, id)
	stop()
	cancel()
	if err == nil {
		select {
		case <-session.Done():
			err = fmt.Errorf("session lost during campaign")
		default:
		}
	}
	if err != nil {
		session.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailable(err)
	}
	return &Leadership{Store: s.Fenced(e), session: session, election: e}, nil
}

// Done is closed when the term is over: the session's lease was lost.
func (l *Leadership) Done() <-chan struct{} { return l.session.Done() }

// Resign ends the term at once, so that another replica takes over without
// waiting for the lease to expire.
func (l *Leadership) Resign(ctx context.Context) {
	l.election.Resign(ctx)
	l.session.Close()
}

// Leader returns the id of the current leader, "" when there is none.
func (s *Store) Leader(ctx context.Context) (string, error) {
	resp, err := s.cli.Get(ctx, s.key("leader")+"/", withFirstCreate()...)
	if err != nil {
		return "", unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
