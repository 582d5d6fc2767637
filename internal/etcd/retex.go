package etcd

import (
	"context"
	"encoding/json"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Each exercise's RETEX lives at retex/<activation id>, apart from the
// activation's own record.

// SaveRetex stores r, replacing any earlier RETEX of its activation, with
// audit in the outbox in the same transaction.
func (s *Store) SaveRetex(ctx context.Context, r tocsin.Retex, audit ...tocsin.AuditEntry) error {
	_, err := s.txnOK(ctx, append([]clientv3.Op{clientv3.OpPut(s.key("retex", r.Activation), mustJSON(r))}, s.auditOps(audit)...)...)
	return err
}

// Retex returns the RETEX of an activation, nil when none was entered.
func (s *Store) Retex(ctx context.Context, activation string) (*tocsin.Retex, error) {
	var r tocsin.Retex
	rev, err := s.getJSON(ctx, s.key("retex", activation), &r)
	if err != nil || rev == 0 {
		return nil, err
	}
	return &r, nil
}

// Retexes returns every RETEX, by activation id.
func (s *Store) Retexes(ctx context.Context) (map[string]tocsin.Retex, error) {
	out := map[string]tocsin.Retex{}
	prefix := s.key("retex") + "/"
	err := s.listJSON(ctx, prefix, func(key string, data []byte) error {
		var r tocsin.Retex
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		out[strings.TrimPrefix(key, prefix)] = r
		return nil
	})
	return out, err
}
