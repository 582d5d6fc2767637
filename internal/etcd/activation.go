package etcd

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// maxCASTries bounds how often an update retries after losing a race.
const maxCASTries = 50

// CreateActivation stores a new activation with its recipients and its
// first event, and audit in the outbox with it. The number index goes
// first, in batches; the activation record last, so that it appears
// complete or not at all.
//
// Nothing is deleted on failure: what the batches wrote is unreachable
// without the activation record, and the leader collects it later
// (leftovers.go). A final transaction of unknown outcome (timeout, lost
// quorum) may have committed: deleting its recipients would leave an
// activation without them.
func (s *Store) CreateActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, first tocsin.Event, audit ...tocsin.AuditEntry) error {
	numbers := 0
	for i := range rs {
		numbers += rs[i].NumberCount()
	}
	return s.createActivation(ctx, a, rs, numbers, nil, first, audit)
}

// BeginActivation is CreateActivation for a large activation: rs are its
// first c.Written recipients, written with the record, and c the
// creation in progress (creations.go); the rest follow in parts
// (WriteCreation). The number index, sized for the numbers that may
// answer for the whole audience (numbers: the officials' own and their
// deputies'), answers for the first part only: IndexCreation adds the
// others before any of them is written, so before any is sent to. At
// 35,000 officials the whole index is a megabyte that the first SMS
// would wait for.
func (s *Store) BeginActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, numbers int, c *tocsin.Creation, first tocsin.Event, audit ...tocsin.AuditEntry) error {
	if len(rs) != c.Written {
		return fmt.Errorf("activation %s: %d recipients for a first part of %d", a.ID, len(rs), c.Written)
	}
	return s.createActivation(ctx, a, rs, numbers, c, first, audit)
}

func (s *Store) createActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, numbers int, c *tocsin.Creation, first tocsin.Event, audit []tocsin.AuditEntry) error {
	ak := s.key("act", a.ID)
	resp, err := s.cli.Get(ctx, ak, clientv3.WithCountOnly())
	if err != nil {
		return unavailable(err)
	}
	if resp.Count > 0 {
		return tocsin.Errorf(tocsin.EConflict, "l'activation %s existe déjà", a.ID)
	}
	var ops []clientv3.Op
	var sizes []int
	for i := range rs {
		v := mustJSON(&rs[i])
		ops = append(ops, clientv3.OpPut(s.key("rcpt", a.ID, rs[i].Official.ID), v))
		sizes = append(sizes, len(v)+64)
	}
	shards := indexShards(numbers)
	for i, sh := range numberIndex(rs, shards) {
		if len(sh) == 0 && i > 0 {
			continue // the first shard is always written: see commitRecord below
		}
		v := mustJSON(sh)
		ops = append(ops, clientv3.OpPut(s.key("num", a.ID, strconv.Itoa(i)), v))
		sizes = append(sizes, len(v)+64)
	}
	if err := s.batches(ctx, ops, sizes); err != nil {
		return fmt.Errorf("write recipients: %w", err)
	}
	act := mustJSON(a)
	final := append([]clientv3.Op{clientv3.OpPut(ak, act), clientv3.OpPut(s.key("open", a.ID), strconv.Itoa(shards)),
		s.eventOp(a.ID, &first)}, s.auditOps(audit)...)
	if c != nil {
		final = append(final, clientv3.OpPut(s.key("mk", a.ID), mustJSON(c)))
	}
	// The first shard of the number index stands for what the batches
	// wrote: gone means the collector took it for a leftover.
	return s.commitRecord(ctx, a.ID, act, s.key("num", a.ID, "0"), final)
}

// commitRecord runs the final transaction of a write in several: it puts
// the activation record (encoded as act) and the rest of final, if no
// activation has the id and the key written key still exists. A
// transaction that failed its compares is answered from what stands: the
// same record means an earlier try of this one committed (success);
// another one is a conflict; none means the collector deleted what the
// batches wrote, and the write is to be made again.
func (s *Store) commitRecord(ctx context.Context, id, act, written string, final []clientv3.Op) error {
	ak := s.key("act", id)
	resp, ok, err := s.txnElse(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(ak), "=", 0), exists(written)},
		final, []clientv3.Op{clientv3.OpGet(ak)})
	switch {
	case err != nil:
		return err // outcome unknown: nothing is deleted
	case ok:
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	switch {
	case len(kvs) > 0 && string(kvs[0].Value) == act:
		return nil
	case len(kvs) > 0:
		return tocsin.Errorf(tocsin.EConflict, "l'activation %s existe déjà", id)
	}
	return unavailable(fmt.Errorf("activation %s: what was written before its record was collected as a leftover", id))
}

// eventOp writes e under a key that sorts by server time. It sets e.Seq,
// e.Activation and, when unset, e.At.
func (s *Store) eventOp(activation string, e *tocsin.Event) clientv3.Op {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	var b [4]byte
	rand.Read(b[:])
	e.Activation = activation
	e.Seq = fmt.Sprintf("%019d-%08x", e.At.UnixNano(), binary.BigEndian.Uint32(b[:]))
	return clientv3.OpPut(s.key("evt", activation, e.Seq), mustJSON(e))
}

// Activation returns one activation, or ENotFound.
func (s *Store) Activation(ctx context.Context, id string) (*tocsin.Activation, error) {
	a, _, err := s.activation(ctx, id)
	return a, err
}

func (s *Store) activation(ctx context.Context, id string) (*tocsin.Activation, int64, error) {
	var a tocsin.Activation
	rev, err := s.getJSON(ctx, s.key("act", id), &a)
	if err != nil {
		return nil, 0, err
	}
	if rev == 0 {
		return nil, 0, tocsin.Errorf(tocsin.ENotFound, "activation %s introuvable", id)
	}
	return &a, rev, nil
}

// Activations returns every activation of the cell, newest first: not the
// call-outs of CIP operators (tocsin.Activation.CIPFor), which belong to
// their activation.
func (s *Store) Activations(ctx context.Context) ([]tocsin.Activation, error) {
	var out []tocsin.Activation
	err := s.listJSON(ctx, s.key("act")+"/", func(_ string, data []byte) error {
		var a tocsin.Activation
		if err := json.Unmarshal(data, &a); err != nil {
			return err
		}
		if a.CIPFor != "" {
			return nil
		}
		out = append(out, a)
		return nil
	})
	slices.SortFunc(out, func(x, y tocsin.Activation) int { return y.ActivatedAt.Compare(x.ActivatedAt) })
	return out, err
}

// OpenActivations returns the activations still open, oldest first.
func (s *Store) OpenActivations(ctx context.Context) ([]tocsin.Activation, error) {
	resp, err := s.cli.Get(ctx, s.key("open")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, unavailable(err)
	}
	var out []tocsin.Activation
	for _, kv := range resp.Kvs {
		id := strings.TrimPrefix(string(kv.Key), s.key("open")+"/")
		a, err := s.Activation(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	slices.SortFunc(out, func(x, y tocsin.Activation) int { return x.ActivatedAt.Compare(y.ActivatedAt) })
	return out, nil
}

// Recipients returns the recipients of an activation, sorted by official id.
func (s *Store) Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error) {
	rs, _, err := s.RecipientsRev(ctx, id)
	return rs, err
}

// RecipientsRev returns the recipients of an activation, sorted by
// official id, and the store revision they were read at.
func (s *Store) RecipientsRev(ctx context.Context, id string) ([]tocsin.Recipient, int64, error) {
	resp, err := s.cli.Get(ctx, s.key("rcpt", id)+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, unavailable(err)
	}
	out := make([]tocsin.Recipient, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		if err := json.Unmarshal(kv.Value, &out[i]); err != nil {
			return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
	}
	return out, resp.Header.Revision, nil
}

// RecipientsChangedSince reports whether a recipient of an activation was
// written after revision rev. Only the keys written since travel.
func (s *Store) RecipientsChangedSince(ctx context.Context, id string, rev int64) (bool, error) {
	resp, err := s.cli.Get(ctx, s.key("rcpt", id)+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithMinModRev(rev+1), clientv3.WithLimit(1))
	if err != nil {
		return false, unavailable(err)
	}
	return len(resp.Kvs) > 0, nil
}

// Recipient returns one recipient, or ENotFound.
func (s *Store) Recipient(ctx context.Context, activation, official string) (*tocsin.Recipient, error) {
	var r tocsin.Recipient
	rev, err := s.getJSON(ctx, s.key("rcpt", activation, official), &r)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, tocsin.Errorf(tocsin.ENotFound, "destinataire %s introuvable dans l'activation %s", official, activation)
	}
	return &r, nil
}

// Events returns an activation's timeline, oldest first.
func (s *Store) Events(ctx context.Context, id string) ([]tocsin.Event, error) {
	var out []tocsin.Event
	err := s.listJSON(ctx, s.key("evt", id)+"/", func(_ string, data []byte) error {
		var e tocsin.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// RecipientWith returns an activation and one of its recipients, read in
// one round trip at one revision, with the recipient's mod revision. The
// activation is shared with other readers: do not change it.
func (s *Store) RecipientWith(ctx context.Context, activation, official string) (*tocsin.Activation, *tocsin.Recipient, int64, error) {
	return s.recipientWith(ctx, activation, official)
}

func (s *Store) recipientWith(ctx context.Context, activation, official string) (*tocsin.Activation, *tocsin.Recipient, int64, error) {
	ak, rk := s.key("act", activation), s.key("rcpt", activation, official)
	got, err := s.combinedGet(ctx, ak, rk)
	if err != nil {
		return nil, nil, 0, err
	}
	akv, rkv := got[0].Kvs, got[1].Kvs
	if len(akv) == 0 {
		return nil, nil, 0, tocsin.Errorf(tocsin.ENotFound, "activation %s introuvable", activation)
	}
	if len(rkv) == 0 {
		return nil, nil, 0, tocsin.Errorf(tocsin.ENotFound, "destinataire %s introuvable dans l'activation %s", official, activation)
	}
	a, err := s.decodeActivation(ak, akv[0].Value, akv[0].ModRevision)
	if err != nil {
		return nil, nil, 0, err
	}
	var r tocsin.Recipient
	if err := json.Unmarshal(rkv[0].Value, &r); err != nil {
		return nil, nil, 0, fmt.Errorf("decode %s: %w", rk, err)
	}
	return a, &r, rkv[0].ModRevision, nil
}

// decodeActivation decodes an activation read at mod revision rev, or
// returns the one decoded before at that revision: the recipient reads of
// dispatch and status callbacks all read their activation, which seldom
// changes. The activation returned is shared: callers must not change it.
func (s *Store) decodeActivation(key string, value []byte, rev int64) (*tocsin.Activation, error) {
	c := s.decoded
	c.mu.Lock()
	got, ok := c.acts[key]
	c.mu.Unlock()
	if ok && got.rev == rev {
		return got.a, nil
	}
	var a tocsin.Activation
	if err := json.Unmarshal(value, &a); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.acts) >= maxDecoded {
		clear(c.acts) // many activations read at once: start over
	}
	c.acts[key] = decodedActivation{rev, &a}
	return &a, nil
}

// maxDecoded bounds the activations kept decoded.
const maxDecoded = 64

type activationCache struct {
	mu   sync.Mutex
	acts map[string]decodedActivation
}

type decodedActivation struct {
	rev int64
	a   *tocsin.Activation
}

// UpdateRecipient applies fn to a recipient by compare-and-swap, with the
// events fn returns in the same transaction, and returns the recipient as
// written. The activation passed to fn is read fresh each try, and shared
// with other readers: fn must not change it. fn may be called several
// times when other writers race, so it must have no side effects;
// returning ErrNoChange writes nothing.
//
// audit goes in the outbox in the same transaction as the change, and not
// at all when fn changes nothing.
func (s *Store) UpdateRecipient(ctx context.Context, activation, official string, fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error),
	audit ...tocsin.AuditEntry) (*tocsin.Recipient, error) {
	_, r, _, err := s.updateRecipient(ctx, activation, official, nil, nil, 0, fn, audit)
	return r, err
}

// UpdateRecipientFrom is UpdateRecipient starting from a state the caller
// holds: a and r as they stood at r's mod revision rev (rev 0: read them
// first). The first try writes without reading; only when another writer
// changed the recipient meanwhile is it read again. r becomes the store's:
// fn changes it. It returns the activation fn saw last, the recipient as
// written and its new mod revision (rev unchanged when fn said ErrNoChange).
//
// When fn saw the activation open, the write also requires that it still
// is: what fn decided on an open activation is not written once it closed.
func (s *Store) UpdateRecipientFrom(ctx context.Context, activation, official string, a *tocsin.Activation, r *tocsin.Recipient, rev int64,
	fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error)) (*tocsin.Activation, *tocsin.Recipient, int64, error) {
	return s.updateRecipient(ctx, activation, official, a, r, rev, fn, nil)
}

func (s *Store) updateRecipient(ctx context.Context, activation, official string, a *tocsin.Activation, r *tocsin.Recipient, rev int64,
	fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error), audit []tocsin.AuditEntry) (*tocsin.Activation, *tocsin.Recipient, int64, error) {
	rk, openKey := s.key("rcpt", activation, official), s.key("open", activation)
	for range maxCASTries {
		if rev == 0 || a == nil || r == nil {
			var err error
			if a, r, rev, err = s.recipientWith(ctx, activation, official); err != nil {
				return nil, nil, 0, err
			}
		}
		events, err := fn(a, r)
		if err != nil {
			if errors.Is(err, ErrNoChange) {
				return a, r, rev, nil
			}
			return nil, nil, 0, err
		}
		ops := []clientv3.Op{clientv3.OpPut(rk, mustJSON(r))}
		for i := range events {
			if events[i].Official == "" {
				events[i].Official = official
			}
			ops = append(ops, s.eventOp(activation, &events[i]))
			if events[i].Kind == tocsin.EventReply {
				ops = append(ops, clientv3.OpPut(s.key("rpl", activation, events[i].Seq), ""))
			}
		}
		ops = append(ops, s.auditOps(audit)...)
		guard := ""
		if a.State == tocsin.Open {
			guard = openKey
		}
		wrote, done, err := s.combinedTxn(ctx, rk, guard, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(rk), "=", rev)}, ops...)
		if err != nil {
			return nil, nil, 0, err
		}
		if done {
			return a, r, wrote, nil
		}
		rev = 0 // read again
	}
	return nil, nil, 0, contention("update recipient %s/%s", activation, official)
}

// LoadRecipients reads an activation and its recipients, page by page of
// at most pageSize, calling fn with each page and the mod revision of each
// recipient, so that a caller can start on the first recipients before the
// last are read. Pages are not one snapshot: writes made meanwhile may show
// in later pages, and compare-and-swap on the revisions catches them.
//
// after, when not empty, starts after that official's id: recipients are
// keyed by it, and a creation in parts writes them in its order.
func (s *Store) LoadRecipients(ctx context.Context, id, after string, pageSize int, fn func(a *tocsin.Activation, rs []tocsin.Recipient, revs []int64) error) error {
	a, err := s.Activation(ctx, id)
	if err != nil {
		return err
	}
	prefix := s.key("rcpt", id) + "/"
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	if after != "" {
		from = prefix + after + "\x00"
	}
	for {
		resp, err := s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(int64(pageSize)),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return unavailable(err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		rs := make([]tocsin.Recipient, len(resp.Kvs))
		revs := make([]int64, len(resp.Kvs))
		for i, kv := range resp.Kvs {
			if err := json.Unmarshal(kv.Value, &rs[i]); err != nil {
				return fmt.Errorf("decode %s: %w", kv.Key, err)
			}
			revs[i] = kv.ModRevision
		}
		if err := fn(a, rs, revs); err != nil {
			return err
		}
		if !resp.More {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// UpdateActivation applies fn to an activation by compare-and-swap, with
// its events and audit (in the outbox; not when fn changes nothing). When
// fn closes the activation, the open marker goes too; when it adds a
// follow-up message to an open one, the marker is rewritten, so that
// WatchOpen reports it again.
func (s *Store) UpdateActivation(ctx context.Context, id string, fn func(a *tocsin.Activation) ([]tocsin.Event, error),
	audit ...tocsin.AuditEntry) (*tocsin.Activation, error) {
	ak := s.key("act", id)
	for range maxCASTries {
		a, rev, err := s.activation(ctx, id)
		if err != nil {
			return nil, err
		}
		messages := len(a.Messages)
		events, err := fn(a)
		if err != nil {
			if errors.Is(err, ErrNoChange) {
				return a, nil
			}
			return nil, err
		}
		ops := []clientv3.Op{clientv3.OpPut(ak, mustJSON(a))}
		switch {
		case a.State == tocsin.Closed:
			ops = append(ops, clientv3.OpDelete(s.key("open", id)))
		case len(a.Messages) > messages:
			// A follow-up message to send: the open marker, rewritten as
			// it is, tells the leader's dispatch to load the activation
			// again (WatchOpen reports it open once more).
			ops = append(ops, clientv3.OpPut(s.key("open", id), "", clientv3.WithIgnoreValue()))
		}
		for i := range events {
			ops = append(ops, s.eventOp(id, &events[i]))
		}
		ops = append(ops, s.auditOps(audit)...)
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ak), "=", rev)}, ops...)
		if err != nil {
			return nil, err
		}
		if ok {
			return a, nil
		}
	}
	return nil, contention("update activation %s", id)
}

// numbersPerShard is about how many numbers one key of an activation's
// number index holds: few keys to write at creation, a small one to read
// for each reply.
const numbersPerShard = 64

// indexShards is the size of the number index of an audience for which
// so many numbers may answer (own and deputies', counted once per
// official they answer for): a shard for every numbersPerShard.
func indexShards(numbers int) int {
	return max(1, (numbers+numbersPerShard-1)/numbersPerShard)
}

// numberIndex maps each number that may answer for an official of rs
// (their own and their deputies') to the officials it answers for, split
// in shards by a hash of the number. A number may answer for several
// officials.
func numberIndex(rs []tocsin.Recipient, shards int) []map[string][]string {
	byNumber := map[string][]string{}
	for i := range rs {
		r := &rs[i]
		numbers := slices.Clone(r.Official.Numbers)
		for _, d := range r.Deputies {
			numbers = append(numbers, d.Numbers...)
		}
		for _, n := range numbers {
			if !slices.Contains(byNumber[n.E164], r.Official.ID) {
				byNumber[n.E164] = append(byNumber[n.E164], r.Official.ID)
			}
		}
	}
	out := make([]map[string][]string, shards)
	for i := range out {
		out[i] = map[string][]string{}
	}
	for n, ids := range byNumber {
		out[numberShard(n, shards)][n] = ids
	}
	return out
}

func numberShard(e164 string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(e164))
	return int(h.Sum32() % uint32(shards))
}

// OpenByNumber returns the open activations that target number, oldest
// first, with the ids of the officials the number answers for in each
// (their own number, or a deputy's).
func (s *Store) OpenByNumber(ctx context.Context, e164 string) ([]tocsin.Activation, [][]string, error) {
	resp, err := s.cli.Get(ctx, s.key("open")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, nil, unavailable(err)
	}
	type match struct {
		a   tocsin.Activation
		ids []string
	}
	var found []match
	for _, kv := range resp.Kvs {
		id := strings.TrimPrefix(string(kv.Key), s.key("open")+"/")
		shards, err := strconv.Atoi(string(kv.Value))
		if err != nil || shards < 1 {
			return nil, nil, fmt.Errorf("%s: number index size %q unreadable", kv.Key, kv.Value)
		}
		ak, nk := s.key("act", id), s.key("num", id, strconv.Itoa(numberShard(e164, shards)))
		got, err := s.cli.Txn(ctx).Then(clientv3.OpGet(ak), clientv3.OpGet(nk)).Commit()
		if err != nil {
			return nil, nil, unavailable(err)
		}
		akv, nkv := got.Responses[0].GetResponseRange().Kvs, got.Responses[1].GetResponseRange().Kvs
		if len(akv) == 0 || len(nkv) == 0 {
			continue
		}
		var index map[string][]string
		if err := json.Unmarshal(nkv[0].Value, &index); err != nil {
			return nil, nil, fmt.Errorf("decode %s: %w", nk, err)
		}
		ids := index[e164]
		if len(ids) == 0 {
			continue
		}
		m := match{ids: slices.Sorted(slices.Values(ids))}
		if err := json.Unmarshal(akv[0].Value, &m.a); err != nil {
			return nil, nil, fmt.Errorf("decode %s: %w", ak, err)
		}
		found = append(found, m)
	}
	slices.SortStableFunc(found, func(x, y match) int { return x.a.ActivatedAt.Compare(y.a.ActivatedAt) })
	acts, officials := make([]tocsin.Activation, len(found)), make([][]string, len(found))
	for i, m := range found {
		acts[i], officials[i] = m.a, m.ids
	}
	return acts, officials, nil
}

// WatchOpen calls fn with the id of every activation that opens from now
// on (and, once, of those already open) with open true, and of every one
// that closes with open false, until ctx ends or the watch fails.
func (s *Store) WatchOpen(ctx context.Context, fn func(id string, open bool)) error {
	resp, err := s.cli.Get(ctx, s.key("open")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return unavailable(err)
	}
	for _, kv := range resp.Kvs {
		fn(strings.TrimPrefix(string(kv.Key), s.key("open")+"/"), true)
	}
	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.key("open")+"/", clientv3.WithPrefix(),
		clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return unavailable(err)
		}
		for _, ev := range wr.Events {
			fn(strings.TrimPrefix(string(ev.Kv.Key), s.key("open")+"/"), ev.Type == clientv3.EventTypePut)
		}
	}
	return ctx.Err()
}

// WatchRecipients calls fn with every change of a recipient from now on,
// and its mod revision, until ctx ends or the watch fails. Recipients as
// their activation creates them are not reported: whoever loads the
// activation reads them.
func (s *Store) WatchRecipients(ctx context.Context, fn func(activation string, r *tocsin.Recipient, rev int64)) error {
	prefix := s.key("rcpt") + "/"
	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return unavailable(err)
		}
		for _, ev := range wr.Events {
			if ev.IsCreate() {
				continue // a new activation's recipient: read with it
			}
			var r tocsin.Recipient
			if err := json.Unmarshal(ev.Kv.Value, &r); err != nil {
				continue // not ours to judge here; readers report it
			}
			activation, _, _ := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), prefix), "/")
			fn(activation, &r, ev.Kv.ModRevision)
		}
	}
	return ctx.Err()
}
