package activation

import (
	"context"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// PaceFunc reads the effective sending rates the leader last published.
type PaceFunc func(ctx context.Context) (tocsin.Pace, error)

// paceTTL is how long a replica keeps the pace it read: views are read
// often, the pace changes at most every second.
const paceTTL = time.Second

// paceCache keeps the last pace read.
type paceCache struct {
	mu   sync.Mutex
	at   time.Time
	pace *tocsin.Pace
}

// pace returns the pace while the provider limits a channel or sends go
// by the secondary route, and the leader published it recently; nil
// otherwise: then the configured rates and the primary hold.
// A pace that cannot be read counts as none: views do not fail for it.
func (s *Service) pace(ctx context.Context) *tocsin.Pace {
	if s.readPace == nil {
		return nil
	}
	now := s.now()
	c := &s.paceCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.at) >= paceTTL || now.Before(c.at) {
		p, err := s.readPace(ctx)
		c.at, c.pace = now, nil
		if err != nil {
			s.log.Debug("pace unreadable", "err", err)
		} else if p.Fresh(now) && p.Notable() {
			c.pace = &p
		}
	}
	return c.pace
}
