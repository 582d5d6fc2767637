package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The audit trail lives under audit/: audit/head holds the last entry's
// number and hash, audit/e/<seq, 20 digits> each entry. An append writes
// the entry and the head in one transaction that compares the head's mod
// revision, so concurrent appends from several replicas serialize.

func (s *Store) auditHeadKey() string { return s.key("audit", "head") }

func (s *Store) auditKey(seq uint64) string { return s.key("audit", "e", fmt.Sprintf("%020d", seq)) }

// AuditHead returns the last audit entry's number and hash, zero when the
// trail is empty.
func (s *Store) AuditHead(ctx context.Context) (tocsin.AuditHead, error) {
	var h tocsin.AuditHead
	rev, err := s.getJSON(ctx, s.auditHeadKey(), &h)
	if err != nil {
		return tocsin.AuditHead{}, err
	}
	h.Rev = rev
	return h, nil
}

// AppendAudit writes e and makes it the head if the head is still after.
// It reports false when another append came first. Audit writes are never
// fenced: every replica records what it does.
func (s *Store) AppendAudit(ctx context.Context, e tocsin.AuditEntry, after tocsin.AuditHead) (bool, error) {
	hk, ek := s.auditHeadKey(), s.auditKey(e.Seq)
	head := tocsin.AuditHead{Seq: e.Seq, Hash: e.Hash}
	resp, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(hk), "=", after.Rev),
		clientv3.Compare(clientv3.CreateRevision(ek), "=", 0),
	).Then(clientv3.OpPut(ek, mustJSON(e)), clientv3.OpPut(hk, mustJSON(head))).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	return resp.Succeeded, nil
}

// AuditEntries returns every audit entry in key order, and the head, read
// at one revision.
func (s *Store) AuditEntries(ctx context.Context) ([]tocsin.AuditEntry, tocsin.AuditHead, error) {
	var head tocsin.AuditHead
	hr, err := s.cli.Get(ctx, s.auditHeadKey())
	if err != nil {
		return nil, head, unavailable(err)
	}
	if len(hr.Kvs) > 0 {
		if err := json.Unmarshal(hr.Kvs[0].Value, &head); err != nil {
			return nil, head, fmt.Errorf("decode audit head: %w", err)
		}
		head.Rev = hr.Kvs[0].ModRevision
	}
	prefix := s.key("audit", "e") + "/"
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(hr.Header.Revision),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, head, unavailable(err)
	}
	out := make([]tocsin.AuditEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var e tocsin.AuditEntry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			// A damaged entry is kept, numbered by its key, so that
			// verification names it rather than failing.
			n, _ := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), prefix), 10, 64)
			e = tocsin.AuditEntry{Seq: n, Detail: "entrée illisible"}
		}
		out = append(out, e)
	}
	return out, head, nil
}
