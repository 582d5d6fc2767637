package activation

import (
	"context"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// drainTimeout bounds the drain that follows a change: the change is
// done and its entry safe in the outbox, so the answer does not wait
// long for it; the leader chains what this drain leaves.
const drainTimeout = 3 * time.Second

// drain chains the entries the last change wrote, best effort: so that in
// the normal case the trail shows them as soon as the change is answered.
func (s *Service) drain(ctx context.Context) {
	if s.audit == nil || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	if _, err := s.audit.Drain(ctx); err != nil {
		s.log.Warn("audit entries left in the outbox for the leader", "err", err)
	}
}

// summarize appends the summary of a history import, after the entries of
// the activations it wrote (each written with its activation). The
// summary changes nothing in the store: a failure to record it is logged,
// and the import, whose every activation has its entry, stands.
func (s *Service) summarize(ctx context.Context, by tocsin.User, detail string) {
	if s.audit == nil {
		return
	}
	if _, err := s.audit.Append(ctx, by.Name, tocsin.AuditHistoryImported, "", detail); err != nil {
		s.log.Warn("history import summary not recorded", "err", err)
	}
}
