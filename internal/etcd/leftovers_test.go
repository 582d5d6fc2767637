package etcd_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// keys returns the keys under prefix.
func keys(t *testing.T, s *etcd.Store, prefix string) []string {
	t.Helper()
	resp, err := s.Client().Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

func put(t *testing.T, s *etcd.Store, k, v string) {
	t.Helper()
	if _, err := s.Client().Put(context.Background(), k, v); err != nil {
		t.Fatal(err)
	}
}

// collectUntilGone collects leftovers until want keys (none if not given)
// are left under prefix, and fails if nothing was ever collected. A batch
// cancelled on the client may still be applied by etcd after the write
// returned: the collector leaves what was written after its revision for
// a next pass, as the leader's does.
func collectUntilGone(t *testing.T, s *etcd.Store, prefix string, want ...int) {
	t.Helper()
	left := 0
	if len(want) > 0 {
		left = want[0]
	}
	var total etcd.Leftovers
	testingutil.Await(t, 10*time.Second, "the leftovers under "+prefix+" collected", func() (etcd.Leftovers, bool) {
		upTo, err := s.Revision(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.CollectLeftovers(context.Background(), upTo)
		if err != nil {
			t.Fatalf("collect: %v", err)
		}
		total.Activations += got.Activations
		total.Versions += got.Versions
		return total, total != (etcd.Leftovers{}) && len(keys(t, s, prefix)) == left
	})
}

// expiring is a context whose deadline passes when the test says so.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiring) expire()               { c.once.Do(func() { close(c.done) }) }
func (c *expiring) Done() <-chan struct{} { return c.done }
func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// The API's deadline passes while the recipients of a large activation
// are being written: the error is the store's "unavailable" (a 503, not a
// 500), nothing is deleted — a write of unknown outcome may have made it
// current — and the leader's collector takes the leftovers once they are
// past the grace, after which the activation can be created whole.
func TestADeadlineDuringACreateLeavesLeftoversForTheCollector(t *testing.T) {
	s := testingutil.MustStore(t)
	a, rs := testActivation(10000) // 200 batches
	w := s.Client().Watch(context.Background(), "/test/rcpt/", clientv3.WithPrefix())
	ctx := newExpiring()
	errc := make(chan error, 1)
	go func() { errc <- s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}) }()
	<-w // the first batch is in
	ctx.expire()
	err := <-errc
	if tocsin.ErrorCode(err) != tocsin.EUnavailable {
		t.Fatalf("create past its deadline: %v (code %q); want %s", err, tocsin.ErrorCode(err), tocsin.EUnavailable)
	}
	bg := context.Background()
	if _, err := s.Activation(bg, a.ID); tocsin.ErrorCode(err) != tocsin.ENotFound {
		t.Fatalf("activation after a failed create: %v; want not found", err)
	}
	if len(keys(t, s, "/test/rcpt/act-1/")) == 0 {
		t.Fatal("no recipient left behind: the test did not cut the create half-way")
	}

	// Too young: written after the revision the collector is given.
	if got, err := s.CollectLeftovers(bg, 1); err != nil || got.Activations != 0 {
		t.Fatalf("collect within the grace: %+v, %v; want nothing", got, err)
	}
	collectUntilGone(t, s, "/test/rcpt/act-1/")
	if err := s.CreateActivation(bg, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatalf("create again: %v", err)
	}
}

// The collector takes, past the grace, the recipients, number index and
// events of an id that has no activation, and the directory versions not
// in force; never an existing activation's recipients, the current
// directory, or anything written after the revision it is given.
func TestTheCollectorTakesOnlyLeftoversPastTheGrace(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(3)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceOfficials(ctx, []tocsin.Official{{ID: "maire-dieppe", Name: "Maire"}}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "/test/rcpt/orphelin/o1", `{}`)
	put(t, s, "/test/num/orphelin/0", `{}`)
	put(t, s, "/test/evt/importe/0001", `{}`)
	put(t, s, "/test/dir/v/0000000000000000001-abandonnee/maire-dieppe", `{}`)
	upTo, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Written after: within the grace.
	put(t, s, "/test/rcpt/jeune/o1", `{}`)
	put(t, s, "/test/dir/v/0000000000000000002-en-cours/maire-dieppe", `{}`)
	// An activation recorded after its data was written (as an import's
	// last transaction does): its data is its own, however old.
	put(t, s, "/test/act/importe", `{"id":"importe"}`)

	got, err := s.CollectLeftovers(ctx, upTo)
	if err != nil || got.Activations != 1 || got.Versions != 1 {
		t.Fatalf("collected %+v, %v; want orphelin's data and one directory version", got, err)
	}
	for prefix, want := range map[string]int{
		"/test/rcpt/orphelin/": 0, "/test/num/orphelin/": 0,
		"/test/evt/importe/": 1, "/test/rcpt/jeune/": 1,
		"/test/rcpt/act-1/": 3, "/test/num/act-1/": 1, "/test/evt/act-1/": 1,
		"/test/dir/v/0000000000000000001-abandonnee/": 0, "/test/dir/v/0000000000000000002-en-cours/": 1,
	} {
		if n := len(keys(t, s, prefix)); n != want {
			t.Errorf("%s: %d keys left, want %d", prefix, n, want)
		}
	}
	if os, err := s.Officials(ctx); err != nil || len(os) != 1 {
		t.Errorf("directory in force after the collection: %v, %v; want it whole", os, err)
	}
}

// Two directory imports at once: whichever loses its switch deletes its
// own version, and only the one in force stays.
func TestConcurrentDirectoryImportsLeaveOnlyTheVersionInForce(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	mk := func(tag string) []tocsin.Official {
		os := make([]tocsin.Official, 1500)
		for i := range os {
			os[i] = tocsin.Official{ID: fmt.Sprintf("%s-%04d", tag, i), Name: tag}
		}
		return os
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tag := range []string{"a", "b"} {
		wg.Go(func() { errs[i] = s.ReplaceOfficials(ctx, mk(tag)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && tocsin.ErrorCode(err) != tocsin.EConflict {
			t.Fatalf("import: %v; want success or a conflict", err)
		}
	}
	resp, err := s.Client().Get(ctx, "/test/dir/current")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("dir/current: %v", err)
	}
	version := string(resp.Kvs[0].Value)
	left := keys(t, s, "/test/dir/v/")
	if len(left) != 1500 {
		t.Errorf("%d officials stored; want 1500, the version in force only", len(left))
	}
	for _, k := range left {
		if want := "/test/dir/v/" + version + "/"; len(k) < len(want) || k[:len(want)] != want {
			t.Fatalf("%s is not in the version in force %s", k, version)
		}
	}
}

// Store trouble during a directory import is the store's "unavailable",
// and the directory in force stays whole.
func TestADeadlineDuringADirectoryImportKeepsTheDirectory(t *testing.T) {
	s := testingutil.MustStore(t)
	bg := context.Background()
	if err := s.ReplaceOfficials(bg, []tocsin.Official{{ID: "maire-dieppe", Name: "Maire"}}); err != nil {
		t.Fatal(err)
	}
	officials := make([]tocsin.Official, 20000)
	for i := range officials {
		officials[i] = tocsin.Official{ID: fmt.Sprintf("o%05d", i), Name: "élu"}
	}
	w := s.Client().Watch(bg, "/test/dir/v/", clientv3.WithPrefix())
	ctx := newExpiring()
	errc := make(chan error, 1)
	go func() { errc <- s.ReplaceOfficials(ctx, officials) }()
	<-w
	ctx.expire()
	if err := <-errc; tocsin.ErrorCode(err) != tocsin.EUnavailable {
		t.Fatalf("import past its deadline: %v (code %q); want %s", err, tocsin.ErrorCode(err), tocsin.EUnavailable)
	}
	os, err := s.Officials(bg)
	if err != nil || len(os) != 1 || os[0].ID != "maire-dieppe" {
		t.Fatalf("directory after a failed import: %v, %v; want the one in force", os, err)
	}
	collectUntilGone(t, s, "/test/dir/v/", 1)
	if os, err := s.Officials(bg); err != nil || len(os) != 1 || os[0].ID != "maire-dieppe" {
		t.Fatalf("directory after the collection: %v, %v; want the one in force", os, err)
	}
}
