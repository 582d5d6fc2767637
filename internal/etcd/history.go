package etcd

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Imported activations (history/) are ordinary closed activations: act/,
// rcpt/ and one evt/ event, with no open/ marker and no num/ index, so
// that nothing dispatches them and no reply reaches them. history/lock
// serializes imports across replicas.

// importLockTTL is how long a crashed importer's lock outlives it.
const importLockTTL = 10

// LockImports takes the cluster-wide import lock, waiting for an import
// under way on another replica, until ctx ends. The import checks which
// ids are free and writes them while it holds the lock, so that two
// imports of the same file never interleave. unlock releases it.
func (s *Store) LockImports(ctx context.Context) (unlock func(), err error) {
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(importLockTTL), concurrency.WithContext(ctx))
	if err != nil {
		return nil, unavailable(err)
	}
	m := concurrency.NewMutex(sess, s.key("history", "lock"))
	if err := m.Lock(ctx); err != nil {
		sess.Close()
		return nil, unavailable(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Unlock(ctx)
		sess.Close()
	}, nil
}

// ImportActivation stores a closed activation read from a history file,
// with its recipients and its one event, and audit in the outbox with
// the activation record, if no activation has its id (EConflict
// otherwise). Recipients and event go first, the activation record last,
// as CreateActivation does, and as there nothing is deleted on failure;
// an activation small enough is written in one transaction.
func (s *Store) ImportActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, event tocsin.Event, audit ...tocsin.AuditEntry) error {
	ak := s.key("act", a.ID)
	ops := []clientv3.Op{s.eventOp(a.ID, &event)}
	sizes := []int{len(event.Detail) + 256}
	for i := range rs {
		v := mustJSON(&rs[i])
		ops = append(ops, clientv3.OpPut(s.key("rcpt", a.ID, rs[i].Official.ID), v))
		sizes = append(sizes, len(v)+64)
	}
	act := mustJSON(a)
	total := len(act)
	for _, n := range sizes {
		total += n
	}
	auditOps := s.auditOps(audit)
	if len(ops)+len(auditOps) < maxOps && total < maxBatchBytes {
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(ak), "=", 0)},
			append(append(ops, clientv3.OpPut(ak, act)), auditOps...)...)
		if err == nil && !ok {
			err = tocsin.Errorf(tocsin.EConflict, "l'activation %s existe déjà", a.ID)
		}
		return err
	}
	if err := s.batches(ctx, ops, sizes); err != nil {
		return fmt.Errorf("write imported recipients: %w", err)
	}
	// The event stands for what the batches wrote.
	return s.commitRecord(ctx, a.ID, act, s.key("evt", a.ID, event.Seq), append([]clientv3.Op{clientv3.OpPut(ak, act)}, auditOps...))
}
