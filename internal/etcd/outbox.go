package etcd

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The audit outbox: audit/out/<at, 19 digits>-<random> holds an entry
// written in the same transaction as the change it records, before it is
// numbered and chained. A change and its entry are committed together or
// not at all; the chain is appended to later (audit.Log.Drain), by
// whichever replica drains first, in the order the records were committed.

// maxChained bounds the outbox records one transaction moves into the
// chain: each costs a put, a delete and a compare, and the head one more
// put and compare, under etcd's limit of 128 of each.
const maxChained = 50

// auditOps returns the puts of es in the outbox. An entry without a time
// is stamped now: the time of its change, not of its chaining.
func (s *Store) auditOps(es []tocsin.AuditEntry) []clientv3.Op {
	ops := make([]clientv3.Op, 0, len(es))
	for _, e := range es {
		if e.At.IsZero() {
			e.At = s.Now()
		}
		e.At, e.Seq, e.Prev, e.Hash = e.At.UTC(), 0, "", ""
		var b [4]byte
		rand.Read(b[:])
		k := s.key("audit", "out", fmt.Sprintf("%019d-%08x", e.At.UnixNano(), binary.BigEndian.Uint32(b[:])))
		ops = append(ops, clientv3.OpPut(k, mustJSON(e)))
	}
	return ops
}

// AuditOutbox returns up to limit records waiting in the outbox, in the
// order they were committed, read at revision rev (0: the latest). A
// record that cannot be decoded comes back as an entry saying so, with
// its raw content, so that draining it leaves a trace instead of a hole.
func (s *Store) AuditOutbox(ctx context.Context, limit int, rev int64) ([]tocsin.AuditPending, error) {
	prefix := s.key("audit", "out") + "/"
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithRev(rev)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := s.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]tocsin.AuditPending, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i].Key = string(kv.Key)
		if err := json.Unmarshal(kv.Value, &out[i].Entry); err != nil || out[i].Entry.Action == "" {
			raw := string(kv.Value)
			if len(raw) > 500 {
				raw = raw[:500]
			}
			out[i].Entry = tocsin.AuditEntry{At: s.Now(), Actor: "tocsin", Action: tocsin.AuditUnreadable,
				Detail: fmt.Sprintf("enregistrement illisible dans la file d'attente du journal (%s) : %q", strings.TrimPrefix(out[i].Key, prefix), raw)}
		}
	}
	return out, nil
}

// ChainAudit appends es, sealed one after the other after head after, in
// place of the outbox records from, one entry for each, in one
// transaction: the entries and the new head are put and the records
// deleted only if the head is still after and every record is still in
// the outbox. It reports false otherwise: another replica chained first,
// and the caller reads the outbox again. Never fenced, as appends.
func (s *Store) ChainAudit(ctx context.Context, es []tocsin.AuditEntry, after tocsin.AuditHead, from []tocsin.AuditPending) (bool, error) {
	if len(es) == 0 || len(es) != len(from) || len(es) > maxChained {
		return false, fmt.Errorf("chain audit: %d entries for %d outbox records, 1 to %d", len(es), len(from), maxChained)
	}
	hk := s.auditHeadKey()
	last := es[len(es)-1]
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(hk), "=", after.Rev)}
	ops := []clientv3.Op{clientv3.OpPut(hk, mustJSON(tocsin.AuditHead{Seq: last.Seq, Hash: last.Hash}))}
	for i, e := range es {
		cmps = append(cmps, exists(from[i].Key))
		ops = append(ops, clientv3.OpPut(s.auditKey(e.Seq), mustJSON(e)), clientv3.OpDelete(from[i].Key))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	return resp.Succeeded, nil
}
