package etcd

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leadership is this replica's term as leader.
type Leadership struct {
	// Store writes fenced by this term: once another replica leads, its
	// writes fail with ErrNotLeader.
	Store    *Store
	session  *concurrency.Session
	election *concurrency.Election
	lost     chan struct{}
	stop     context.CancelFunc
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
	wctx, stopWatch := context.WithCancel(session.Ctx())
	l := &Leadership{Store: s.Fenced(e), session: session, election: e, lost: make(chan struct{}), stop: stopWatch}
	go l.watch(wctx, s)
	return l, nil
}

// watch closes l.lost when the session ends or the leader key goes (lease
// revoked, key deleted by an operator): a leader with nothing to write
// would otherwise not notice it was deposed.
func (l *Leadership) watch(ctx context.Context, s *Store) {
	defer close(l.lost)
	key := l.election.Key()
	for ctx.Err() == nil {
		resp, err := s.cli.Get(ctx, key)
		if err == nil && (len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != l.election.Rev()) {
			return
		}
		if err == nil {
			wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), key, clientv3.WithRev(resp.Header.Revision+1))
			for wr := range wch {
				if wr.Err() != nil {
					break
				}
				for _, ev := range wr.Events {
					if ev.Type == clientv3.EventTypeDelete {
						return
					}
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Done is closed when the term is over: the session's lease was lost or
// the leader key is gone.
func (l *Leadership) Done() <-chan struct{} { return l.lost }

// Resign ends the term at once, so that another replica takes over without
// waiting for the lease to expire.
func (l *Leadership) Resign(ctx context.Context) {
	l.election.Resign(ctx)
	l.session.Close()
	l.stop()
	<-l.lost
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
