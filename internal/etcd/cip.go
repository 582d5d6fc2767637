package etcd

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// cipRoster is the CIP's roster as stored: one record, at most
// tocsin.MaxOperators operators, well under etcd's request limit.
type cipRoster struct {
	Operators []tocsin.Operator `json:"operators"`
}

// Operators returns the CIP's roster in the order it was imported; none
// before the first import.
func (s *Store) Operators(ctx context.Context) ([]tocsin.Operator, error) {
	var r cipRoster
	if _, err := s.getJSON(ctx, s.key("cip", "operators"), &r); err != nil {
		return nil, err
	}
	return r.Operators, nil
}

// ReplaceOperators makes operators the whole CIP roster, with its audit
// entries, in one transaction: all or nothing.
func (s *Store) ReplaceOperators(ctx context.Context, operators []tocsin.Operator, audit ...tocsin.AuditEntry) error {
	ops := append([]clientv3.Op{clientv3.OpPut(s.key("cip", "operators"), mustJSON(cipRoster{Operators: operators}))}, s.auditOps(audit)...)
	_, err := s.txn(ctx, nil, ops...)
	return err
}
