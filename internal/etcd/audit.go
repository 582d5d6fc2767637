package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
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

// AuditPage returns up to limit entries stored after entry n° after, in
// key order, and the head, all read at revision rev (0: the latest). The
// page gives the revision it read at, so that the next pages read the
// same trail whatever is appended meanwhile. Each entry's Pos is the
// number in its key; a key that holds no number ends the trail there.
func (s *Store) AuditPage(ctx context.Context, after uint64, limit int, rev int64) (tocsin.AuditPage, error) {
	var p tocsin.AuditPage
	hr, err := s.cli.Get(ctx, s.auditHeadKey(), clientv3.WithRev(rev))
	if err != nil {
		return p, unavailable(err)
	}
	p.Rev = hr.Header.Revision
	if rev != 0 {
		p.Rev = rev
	}
	if len(hr.Kvs) > 0 {
		if err := json.Unmarshal(hr.Kvs[0].Value, &p.Head); err != nil {
			return p, fmt.Errorf("decode audit head: %w", err)
		}
		p.Head.Rev = hr.Kvs[0].ModRevision
	}
	if after == math.MaxUint64 {
		return p, nil
	}
	prefix := s.key("audit", "e") + "/"
	resp, err := s.cli.Get(ctx, s.auditKey(after+1), clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)),
		clientv3.WithRev(p.Rev), clientv3.WithLimit(int64(limit)))
	if err != nil {
		return p, unavailable(err)
	}
	p.More = resp.More
	p.Entries = make([]tocsin.AuditEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		p.Entries = append(p.Entries, decodeAuditEntry(prefix, kv))
	}
	return p, nil
}

// AuditLatest returns the last limit entries of the trail, newest first,
// with the head read at the same revision: one read whatever the trail's
// length.
func (s *Store) AuditLatest(ctx context.Context, limit int) ([]tocsin.AuditEntry, tocsin.AuditHead, error) {
	p, err := s.AuditPage(ctx, math.MaxUint64, 0, 0) // the head alone
	if err != nil {
		return nil, p.Head, err
	}
	prefix := s.key("audit", "e") + "/"
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithRev(p.Rev),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(limit)))
	if err != nil {
		return nil, p.Head, unavailable(err)
	}
	out := make([]tocsin.AuditEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, decodeAuditEntry(prefix, kv))
	}
	return out, p.Head, nil
}

// decodeAuditEntry reads an entry with etcd's record of its key. A damaged
// entry is kept, numbered by its key, so that verification names it
// rather than failing.
func decodeAuditEntry(prefix string, kv *mvccpb.KeyValue) tocsin.AuditEntry {
	pos := auditPos(strings.TrimPrefix(string(kv.Key), prefix))
	var e tocsin.AuditEntry
	if err := json.Unmarshal(kv.Value, &e); err != nil {
		e = tocsin.AuditEntry{Seq: pos, Detail: "entrée illisible"}
	}
	e.Pos, e.Writes, e.Created = pos, kv.Version, kv.CreateRevision
	return e
}

// auditPos reads the number at the start of an entry's key. Keys are 20
// digits; anything else sorts after every entry (math.MaxUint64) unless
// it starts with 20 digits, so that paging by number always moves on.
func auditPos(name string) uint64 {
	if len(name) >= 20 {
		if n, err := strconv.ParseUint(name[:20], 10, 64); err == nil {
			return n
		}
	}
	return math.MaxUint64
}

// audit/mark holds the store revision up to which recipients' state
// changes are in the trail. It moves in the same transaction as the
// entries that record them, so that a change is recorded once: a replica
// that dies before recording leaves the mark behind, and the next one
// replays the changes after it.

func (s *Store) auditMarkKey() string { return s.key("audit", "mark") }

// AuditMark returns the mark, setting it to the current revision on first
// use: changes made before the trail recorded them are not replayed.
func (s *Store) AuditMark(ctx context.Context) (tocsin.AuditMark, error) {
	k := s.auditMarkKey()
	cur, err := s.cli.Get(ctx, k)
	if err != nil {
		return tocsin.AuditMark{}, unavailable(err)
	}
	if len(cur.Kvs) == 0 {
		// Every change after the revision just read is replayed.
		start := strconv.FormatInt(cur.Header.Revision, 10)
		if _, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
			Then(clientv3.OpPut(k, start)).Commit(); err != nil {
			return tocsin.AuditMark{}, unavailable(err)
		}
		if cur, err = s.cli.Get(ctx, k); err != nil {
			return tocsin.AuditMark{}, unavailable(err)
		}
	}
	kv := cur.Kvs[0]
	rev, err := strconv.ParseInt(string(kv.Value), 10, 64)
	if err != nil {
		return tocsin.AuditMark{}, fmt.Errorf("decode audit mark: %w", err)
	}
	return tocsin.AuditMark{Rev: rev, ModRev: kv.ModRevision}, nil
}

// AppendAuditMarked writes es, consecutive entries sealed after head
// after, makes the last one the head and moves the mark to rev, only if
// neither the head nor the mark moved meanwhile; it reports whether it did.
func (s *Store) AppendAuditMarked(ctx context.Context, es []tocsin.AuditEntry, after tocsin.AuditHead, mark tocsin.AuditMark, rev int64) (bool, error) {
	if len(es) == 0 || len(es) > maxOps {
		return false, fmt.Errorf("append audit: %d entries in one transaction, 1 to %d", len(es), maxOps)
	}
	hk, mk := s.auditHeadKey(), s.auditMarkKey()
	last := es[len(es)-1]
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(hk), "=", after.Rev), clientv3.Compare(clientv3.ModRevision(mk), "=", mark.ModRev)}
	ops := []clientv3.Op{clientv3.OpPut(hk, mustJSON(tocsin.AuditHead{Seq: last.Seq, Hash: last.Hash})), clientv3.OpPut(mk, strconv.FormatInt(rev, 10))}
	for _, e := range es {
		ops = append(ops, clientv3.OpPut(s.auditKey(e.Seq), mustJSON(e)))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	return resp.Succeeded, nil
}

// WatchRecipientChanges calls fn with the writes of recipients after
// revision from that left them delivered, failed or informed (the states
// the trail records), in revision order, with each
// recipient before the write (nil when the write created it): once for
// each batch etcd sends, which never splits a revision, since several
// recipients may change in one. It returns when ctx ends or the watch
// fails; a *tocsin.CompactedError when the revisions after from are gone.
func (s *Store) WatchRecipientChanges(ctx context.Context, from int64, fn func(cs []tocsin.RecipientChange)) error {
	prefix := s.key("rcpt") + "/"
	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete(),
		clientv3.WithPrevKV(), clientv3.WithRev(from+1))
	for wr := range wch {
		if wr.CompactRevision != 0 {
			return &tocsin.CompactedError{Rev: wr.CompactRevision}
		}
		if err := wr.Err(); err != nil {
			return unavailable(err)
		}
		var cs []tocsin.RecipientChange
		for _, ev := range wr.Events {
			if !trailWorthy(ev.Kv.Value) {
				continue // most writes: progress the trail does not record
			}
			c := tocsin.RecipientChange{Rev: ev.Kv.ModRevision, Cur: &tocsin.Recipient{}}
			if err := json.Unmarshal(ev.Kv.Value, c.Cur); err != nil {
				continue // not a recipient: readers report it
			}
			if ev.PrevKv != nil {
				c.Prev = &tocsin.Recipient{}
				if json.Unmarshal(ev.PrevKv.Value, c.Prev) != nil {
					c.Prev = nil
				}
			}
			c.Activation, _, _ = strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), prefix), "/")
			cs = append(cs, c)
		}
		if len(cs) > 0 {
			fn(cs)
		}
	}
	return ctx.Err()
}

// trailWorthy reports whether a recipient's encoding has a status the
// trail records a change to (delivered, failed, informed), reading that
// field alone.
func trailWorthy(data []byte) bool {
	var r struct {
		Status tocsin.RecipientStatus `json:"status"`
	}
	if json.Unmarshal(data, &r) != nil {
		return true // the full decode will say what is wrong
	}
	switch r.Status {
	case tocsin.StatusDelivered, tocsin.StatusFailed, tocsin.StatusInformed:
		return true
	}
	return false
}

// What verify compares the trail with, read at the revision the trail was
// read at, so that a change committed after it is not taken for one the
// trail lacks.

// AuditMarkAt returns the mark as it stood at revision rev, and false when
// there was none: no leader had recorded recipients' changes yet.
func (s *Store) AuditMarkAt(ctx context.Context, rev int64) (tocsin.AuditMark, bool, error) {
	resp, err := s.cli.Get(ctx, s.auditMarkKey(), clientv3.WithRev(rev))
	if err != nil {
		return tocsin.AuditMark{}, false, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return tocsin.AuditMark{}, false, nil
	}
	m, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return tocsin.AuditMark{}, false, fmt.Errorf("decode audit mark: %w", err)
	}
	return tocsin.AuditMark{Rev: m, ModRev: resp.Kvs[0].ModRevision}, true, nil
}

// auditCheckPage is how many records one read returns when verify walks
// the activations or the recipients of one.
const auditCheckPage = 500

// ActivationsAt calls fn with every activation stored at revision rev, in
// key order, reading them page by page.
func (s *Store) ActivationsAt(ctx context.Context, rev int64, fn func(a *tocsin.Activation) error) error {
	return s.pagesAt(ctx, s.key("act")+"/", rev, func(key string, data []byte) error {
		var a tocsin.Activation
		if err := json.Unmarshal(data, &a); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		return fn(&a)
	})
}

// InformedAt returns, by official id, how each recipient of an activation
// that was informed at revision rev was informed (sms, voice, manual).
// It fails with a *tocsin.CompactedError when the store no longer holds
// that revision.
func (s *Store) InformedAt(ctx context.Context, activation string, rev int64) (map[string]string, error) {
	out := map[string]string{}
	err := s.pagesAt(ctx, s.key("rcpt", activation)+"/", rev, func(key string, data []byte) error {
		var r struct {
			Official struct {
				ID string `json:"id"`
			} `json:"official"`
			InformedAt  *time.Time `json:"informed_at"`
			InformedHow string     `json:"informed_how"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		if r.InformedAt != nil {
			out[r.Official.ID] = r.InformedHow
		}
		return nil
	})
	return out, err
}

// pagesAt calls fn with every key under prefix at revision rev, in key
// order, auditCheckPage at a time.
func (s *Store) pagesAt(ctx context.Context, prefix string, rev int64, fn func(key string, data []byte) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		resp, err := s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(auditCheckPage))
		if errors.Is(err, rpctypes.ErrCompacted) {
			return &tocsin.CompactedError{Rev: rev + 1}
		}
		if err != nil {
			return unavailable(err)
		}
		for _, kv := range resp.Kvs {
			if err := fn(string(kv.Key), kv.Value); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
