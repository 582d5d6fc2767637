package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// MarkHandled records, once, that a duty officer dealt with an event of an
// activation (a reply of the inbox), with its own event and audit entry in
// the same transaction; EConflict when it was handled already.
func (s *Store) MarkHandled(ctx context.Context, activation, seq string, h tocsin.Handled, ev tocsin.Event, audit ...tocsin.AuditEntry) error {
	key := s.key("hdl", activation, seq)
	ops := append([]clientv3.Op{clientv3.OpPut(key, mustJSON(h)), s.eventOp(activation, &ev)}, s.auditOps(audit)...)
	ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0), exists(s.key("act", activation))}, ops...)
	switch {
	case err != nil:
		return err
	case !ok:
		return tocsin.Errorf(tocsin.EConflict, "cette réponse a déjà été traitée")
	}
	return nil
}

// Handled returns the events of an activation a duty officer dealt with,
// by their Seq.
func (s *Store) Handled(ctx context.Context, activation string) (map[string]tocsin.Handled, error) {
	prefix := s.key("hdl", activation) + "/"
	out := map[string]tocsin.Handled{}
	err := s.listJSON(ctx, prefix, func(key string, data []byte) error {
		var h tocsin.Handled
		if err := json.Unmarshal(data, &h); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		out[strings.TrimPrefix(key, prefix)] = h
		return nil
	})
	return out, err
}

// RepliesToHandle counts the replies of an activation's inbox nobody
// handled yet, from two counts of keys: each reply that did not
// acknowledge is indexed under rpl/ with its event (UpdateRecipient),
// each one handled under hdl/. Replies recorded before the index existed
// are not counted.
func (s *Store) RepliesToHandle(ctx context.Context, activation string) (int, error) {
	count := func(prefix string) (int64, error) {
		resp, err := s.cli.Get(ctx, s.key(prefix, activation)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return 0, unavailable(err)
		}
		return resp.Count, nil
	}
	replies, err := count("rpl")
	if err != nil {
		return 0, err
	}
	handled, err := count("hdl")
	if err != nil {
		return 0, err
	}
	return int(max(replies-handled, 0)), nil
}
