package activation

import (
	"context"
	"fmt"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// DefaultPartSize is how many recipients a creation writes in one
// transaction: under etcd's default limit of 128 operations, and small
// enough that the first part is rendered and written in a few
// milliseconds whatever the audience.
const DefaultPartSize = 100

// CreationStore writes large activations in parts (see
// internal/etcd/creations.go).
type CreationStore interface {
	// OfficialsVersion returns the directory in force and its version;
	// OfficialsOf one version, ENotFound when it is gone.
	OfficialsVersion(ctx context.Context) ([]tocsin.Official, string, error)
	OfficialsOf(ctx context.Context, version string) ([]tocsin.Official, error)
	// BeginActivation stores an activation with its first part rs, the
	// numbers that answer for them in an index sized for numbers (those
	// of the whole audience), and c.
	BeginActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, numbers int, c *tocsin.Creation, first tocsin.Event, audit ...tocsin.AuditEntry) error
	// Creation returns a creation in progress and its revision, nil once
	// the activation is whole.
	Creation(ctx context.Context, id string) (*tocsin.Creation, int64, error)
	// WriteCreation writes the next part if the progress is still at
	// rev, and moves it to next (nil: the end); EConflict otherwise.
	WriteCreation(ctx context.Context, id string, rev int64, rs []tocsin.Recipient, next *tocsin.Creation) (int64, error)
	// IndexCreation adds the numbers of rs, the recipients still to
	// write, to the activation's number index, then moves the progress
	// to next if it is still at rev; EConflict otherwise.
	IndexCreation(ctx context.Context, id string, rev int64, rs []tocsin.Recipient, next *tocsin.Creation) (int64, error)
}

// officials returns the directory in force and its version.
func (s *Service) officials(ctx context.Context) ([]tocsin.Official, string, error) {
	if s.creations == nil {
		o, err := s.store.Officials(ctx)
		return o, "", err
	}
	return s.creations.OfficialsVersion(ctx)
}

// Finish writes the recipients an activation's creation has not written
// yet, part by part, from the directory version and the playbook it
// recorded. The replica that created the activation calls it at once; the
// leader calls it for a creation that stopped moving (its replica died).
// Two replicas finishing the same creation never write a part twice: the
// one that loses a part's compare-and-swap stops, with EConflict.
func (s *Service) Finish(ctx context.Context, id string) error {
	if s.creations == nil {
		return nil
	}
	c, rev, err := s.creations.Creation(ctx, id)
	if err != nil || c == nil {
		return err
	}
	a, err := s.store.Activation(ctx, id)
	if err != nil {
		return err
	}
	officials, err := s.creations.OfficialsOf(ctx, c.Directory)
	if tocsin.ErrorCode(err) == tocsin.ENotFound {
		// Only a failed import's collector could remove a version still
		// in use; the directory in force is the next best.
		s.log.Warn("directory version gone: the creation goes on with the directory in force", "activation", id, "version", c.Directory)
		officials, _, err = s.creations.OfficialsVersion(ctx)
	}
	if err != nil {
		return err
	}
	fill, err := s.render(&c.Playbook, a)
	if err != nil {
		return fmt.Errorf("prepare message: %w", err)
	}
	au := newAudience(&c.Playbook, officials)
	rest := au.recipients(au.after(c.Last), au.len())
	if !c.Indexed {
		// The first part went with the numbers it needs; the others' go
		// before any of them is written, and so sent to.
		next := *c
		next.Indexed = true
		if rev, err = s.creations.IndexCreation(ctx, id, rev, rest, &next); err != nil {
			return err
		}
		c = &next
	}
	for {
		n := min(len(rest), s.partSize)
		part := rest[:n]
		if err := s.renderMessages(a, fill, part); err != nil {
			return fmt.Errorf("prepare message: %w", err)
		}
		var next *tocsin.Creation
		if n < len(rest) {
			next = &tocsin.Creation{Directory: c.Directory, Playbook: c.Playbook, Written: c.Written + n, Last: part[n-1].Official.ID, Indexed: true}
		}
		if rev, err = s.creations.WriteCreation(ctx, id, rev, part, next); err != nil {
			return err
		}
		if next == nil {
			s.log.Info("activation whole", "activation", id, "recipients", c.Written+n)
			return nil
		}
		c, rest = next, rest[n:]
	}
}
