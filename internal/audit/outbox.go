package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// drainBatch is how many outbox records one transaction chains: each
// costs the store a put, a delete and a compare, under etcd's limit of
// 128 operations a transaction.
const drainBatch = 50

// Drain moves the records waiting in the outbox into the chain, in the
// order they were committed, until none is left: each batch in one
// transaction that seals the entries after the head, puts them and the
// new head, and deletes their records, compared against the head and
// every record. Two replicas draining at once never chain a record twice:
// the one that loses reads the outbox again. Each entry keeps the time of
// its change. It returns how many records this call chained.
//
// The request path drains right after its change committed, so that the
// entry shows at once; the leader drains at takeover and periodically, so
// that a record whose drain failed is chained later, never lost. Drains on
// one replica take turns.
func (l *Log) Drain(ctx context.Context) (int, error) {
	select {
	case l.draining <- struct{}{}:
		defer func() { <-l.draining }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n := 0
	for try := 0; try < maxTries; {
		pending, err := l.store.AuditOutbox(ctx, drainBatch, 0)
		if err != nil {
			return n, fmt.Errorf("read audit outbox: %w", err)
		}
		if len(pending) == 0 {
			return n, nil
		}
		head, err := l.store.AuditHead(ctx)
		if err != nil {
			return n, fmt.Errorf("audit head: %w", err)
		}
		es := make([]tocsin.AuditEntry, len(pending))
		after := head
		for i := range pending {
			es[i] = Seal(pending[i].Entry, after)
			after = tocsin.AuditHead{Seq: es[i].Seq, Hash: es[i].Hash}
		}
		ok, err := l.store.ChainAudit(ctx, es, head, pending)
		if err != nil {
			return n, fmt.Errorf("chain audit outbox: %w", err)
		}
		if ok {
			appended(l.Observer, ViaOutbox, len(es))
			n += len(es)
			try = 0
			continue
		}
		// Another append or drain came first: look again.
		if err := spread(ctx, try); err != nil {
			return n, err
		}
		try++
	}
	return n, errors.New("drain audit outbox: too much contention")
}
