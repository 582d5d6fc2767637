package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// entriesOf returns the whole chain, oldest first.
func entriesOf(t *testing.T, l *audit.Log) []tocsin.AuditEntry {
	t.Helper()
	var out []tocsin.AuditEntry
	if err := l.Walk(context.Background(), audit.Filter{}, func(e *tocsin.AuditEntry) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// mustVerify verifies the trail and fails the test unless the chain holds
// and nothing is missing.
func mustVerify(t *testing.T, l *audit.Log) audit.Result {
	t.Helper()
	res, err := l.Verify(context.Background())
	if err != nil || !res.OK {
		t.Fatalf("verify: %+v, %v; want the chain intact and nothing missing", res, err)
	}
	return res
}

// The duty officer closes an activation; the replica's drain right after
// is cut short (its request ended). The entry waits in the outbox, written
// with the close, and the leader's drain chains it later, once, with the
// time of the close.
func TestAChangeWhoseDrainFailedIsChainedLaterOnceWithItsTime(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	l := audit.New(st, nil, nil)
	activate(t, st, "A1", "maire-1")
	closedAt := time.Date(2026, 3, 1, 6, 12, 34, 500, time.UTC)
	if _, err := st.UpdateActivation(ctx, "A1", func(a *tocsin.Activation) ([]tocsin.Event, error) {
		a.State, a.ClosedAt = tocsin.Closed, &closedAt
		return nil, nil
	}, tocsin.AuditEntry{At: closedAt, Actor: "permanence", Action: tocsin.AuditActivationClosed, Activation: "A1", Detail: "activation close"}); err != nil {
		t.Fatal(err)
	}
	cut, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Drain(cut); err == nil {
		t.Fatal("a drain whose request ended: no error; want it cut short")
	}
	if got := entriesOf(t, l); len(got) != 0 {
		t.Fatalf("chain after a failed drain: %+v; want nothing yet", got)
	}
	if res := mustVerify(t, l); res.Outbox != 2 || res.PendingCount != 1 || res.Pending[0].Activation != "A1" {
		t.Errorf("verify before the leader drains: %+v; want A1's creation pending and 2 entries waiting", res)
	}

	// The leader drains: the creation and the close, in order, once.
	if n, err := l.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("leader's drain: chained %d, %v; want 2", n, err)
	}
	if n, err := l.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("second drain: chained %d, %v; want nothing left", n, err)
	}
	got := entriesOf(t, l)
	if len(got) != 2 || got[0].Action != tocsin.AuditActivationCreated || got[1].Action != tocsin.AuditActivationClosed {
		t.Fatalf("chain %+v; want the creation then the close", got)
	}
	if !got[1].At.Equal(closedAt) || got[1].Actor != "permanence" || got[1].Seq != 2 {
		t.Errorf("close entry %+v; want n° 2 by permanence at %s", got[1], closedAt)
	}
	if res := mustVerify(t, l); res.Outbox != 0 || res.PendingCount != 0 {
		t.Errorf("verify after the drain: %+v; want nothing pending", res)
	}
}

// A write whose transaction failed its compares leaves no entry: the
// entry goes with the change or not at all.
func TestARefusedChangeLeavesNoEntry(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	l := audit.New(st, nil, nil)
	activate(t, st, "A1", "maire-1")
	if _, err := st.UpdateActivation(ctx, "A1", func(a *tocsin.Activation) ([]tocsin.Event, error) {
		return nil, tocsin.Errorf(tocsin.EConflict, "refusé")
	}, tocsin.AuditEntry{Actor: "permanence", Action: tocsin.AuditActivationClosed, Activation: "A1"}); tocsin.ErrorCode(err) != tocsin.EConflict {
		t.Fatalf("refused close: %v", err)
	}
	if _, err := l.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := entriesOf(t, l); len(got) != 1 || got[0].Action != tocsin.AuditActivationCreated {
		t.Errorf("chain %+v; want the creation alone", got)
	}
}

// Two replicas drain the same outbox at once, while a third appends
// exports and the changes keep coming: every record is chained exactly
// once, and the chain holds.
func TestTwoReplicasDrainingAtOnceChainEachRecordOnce(t *testing.T) {
	m := testingutil.MustStartEtcd(t)
	store := func() *etcd.Store {
		cli, err := etcd.Connect(etcd.ClientConfig{Endpoints: m.Endpoints()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		return etcd.NewStore(cli, "/test/", nil)
	}
	a, b, c := store(), store(), store()
	la, lb, lc := audit.New(a, nil, nil), audit.New(b, nil, nil), audit.New(c, nil, nil)
	ctx := context.Background()
	const changes, exports = 240, 20
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < changes; i += 4 {
				id := fmt.Sprintf("user-%03d", i)
				if err := a.CreateUser(ctx, tocsin.User{Name: id, Role: tocsin.RoleOfficer}, "x",
					tocsin.AuditEntry{Actor: "admin", Action: tocsin.AuditConfig, Detail: "utilisateur " + id + " créé"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range exports {
			if _, err := lc.Append(ctx, "auditrice", tocsin.AuditExport, "", fmt.Sprintf("export %d", i)); err != nil {
				t.Error(err)
			}
		}
	})
	stop := make(chan struct{})
	var drains sync.WaitGroup
	for _, l := range []*audit.Log{la, lb} {
		drains.Go(func() {
			for {
				if _, err := l.Drain(ctx); err != nil {
					t.Error(err)
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	drains.Wait()
	if _, err := la.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entriesOf(t, la) {
		seen[e.Detail]++
	}
	for i := range changes {
		if d := fmt.Sprintf("utilisateur user-%03d créé", i); seen[d] != 1 {
			t.Errorf("%q chained %d times; want once", d, seen[d])
		}
	}
	if len(seen) != changes+exports {
		t.Errorf("%d distinct entries; want %d", len(seen), changes+exports)
	}
	if res := mustVerify(t, la); res.Entries != changes+exports || res.Outbox != 0 {
		t.Errorf("verify: %+v; want %d entries and an empty outbox", res, changes+exports)
	}
}

// An outbox record that cannot be read is chained as an entry that says
// so, with its content: never dropped, never blocking the rest.
func TestAnUnreadableOutboxRecordIsChainedAsSuch(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	l := audit.New(st, nil, nil)
	if _, err := st.Client().Put(ctx, "/test/audit/out/0000000000000000001-deadbeef", "{pas du JSON"); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, tocsin.User{Name: "marie", Role: tocsin.RoleOfficer}, "x",
		tocsin.AuditEntry{Actor: "admin", Action: tocsin.AuditConfig, Detail: "utilisateur marie créé"}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("drain: %d, %v; want 2", n, err)
	}
	got := entriesOf(t, l)
	if len(got) != 2 || got[0].Action != tocsin.AuditUnreadable || !strings.Contains(got[0].Detail, "{pas du JSON") ||
		got[1].Detail != "utilisateur marie créé" {
		t.Errorf("chain %+v; want the unreadable record named, then marie's creation", got)
	}
}
