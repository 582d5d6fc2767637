package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
)

// trail appends n entries and returns the log and the raw etcd client.
func trail(t *testing.T, n int) (*audit.Log, *clientv3.Client) {
	t.Helper()
	st := testingutil.MustStore(t)
	l := audit.New(st, nil, nil)
	for i := range n {
		if _, err := l.Append(context.Background(), "agent", "test", "", fmt.Sprintf("entrée %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return l, st.Client()
}

func key(seq int) string { return fmt.Sprintf("/test/audit/e/%020d", seq) }

func get(t *testing.T, cli *clientv3.Client, k string) string {
	t.Helper()
	resp, err := cli.Get(context.Background(), k)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("get %s: %v", k, err)
	}
	return string(resp.Kvs[0].Value)
}

func put(t *testing.T, cli *clientv3.Client, k, v string) {
	t.Helper()
	if _, err := cli.Put(context.Background(), k, v); err != nil {
		t.Fatal(err)
	}
}

func mustBreakAt(t *testing.T, l *audit.Log, seq uint64, words string) {
	t.Helper()
	res, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Break == nil {
		t.Fatalf("verify passed a tampered trail: %+v", res)
	}
	if res.Break.Seq != seq || !strings.Contains(res.Break.Reason, words) {
		t.Errorf("break at n° %d (%q), want n° %d mentioning %q", res.Break.Seq, res.Break.Reason, seq, words)
	}
}

func TestIntactTrailVerifies(t *testing.T) {
	l, _ := trail(t, 5)
	res, err := l.Verify(context.Background())
	if err != nil || !res.OK || res.Entries != 5 || res.Head == "" {
		t.Fatalf("got %+v, %v; want 5 entries verified", res, err)
	}
}

func TestEditedEntryIsNamed(t *testing.T) {
	l, cli := trail(t, 5)
	put(t, cli, key(3), strings.Replace(get(t, cli, key(3)), "entrée 3", "entrée trois", 1))
	mustBreakAt(t, l, 3, "modifiée")
}

func TestDeletedEntryIsNamed(t *testing.T) {
	l, cli := trail(t, 5)
	cli.Delete(context.Background(), key(2))
	mustBreakAt(t, l, 2, "manque")
}

func TestDeletedLastEntryIsNamed(t *testing.T) {
	l, cli := trail(t, 5)
	cli.Delete(context.Background(), key(5))
	mustBreakAt(t, l, 5, "manque")
}

func TestReorderedEntriesAreNamed(t *testing.T) {
	l, cli := trail(t, 5)
	two, four := get(t, cli, key(2)), get(t, cli, key(4))
	put(t, cli, key(2), four)
	put(t, cli, key(4), two)
	mustBreakAt(t, l, 2, "hors de sa place")
}

func TestRechainedEditIsNamedByEtcdsRecord(t *testing.T) {
	// An entry edited with its own hash recomputed: etcd's record of the
	// key (written twice) names it, before the next entry's link would.
	l, cli := trail(t, 4)
	st := etcd.NewStore(cli, "/test/", nil)
	p, err := st.AuditPage(context.Background(), 1, 1, 0)
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("read entry 2: %+v, %v", p, err)
	}
	e := p.Entries[0]
	e.Detail = "autre chose"
	e.Hash = audit.Hash(&e)
	put(t, cli, key(2), fmt.Sprintf(`{"seq":2,"at":%q,"actor":%q,"action":%q,"detail":%q,"prev":%q,"hash":%q}`,
		e.At.Format("2006-01-02T15:04:05.999999999Z07:00"), e.Actor, e.Action, e.Detail, e.Prev, e.Hash))
	mustBreakAt(t, l, 2, "réécrite dans etcd")
}

func TestEntryDeletedAndWrittenAgainIsNamed(t *testing.T) {
	// Deleted and put back, unchanged: written once since, but after the
	// entries that follow it.
	l, cli := trail(t, 4)
	two := get(t, cli, key(2))
	if _, err := cli.Delete(context.Background(), key(2)); err != nil {
		t.Fatal(err)
	}
	put(t, cli, key(2), two)
	mustBreakAt(t, l, 3, "recréée")
}

func TestReplicasAppendingAtOnceKeepOneChain(t *testing.T) {
	m := testingutil.MustStartEtcd(t)
	const replicas, each = 3, 15
	var wg sync.WaitGroup
	var logs []*audit.Log
	for range replicas {
		cli, err := etcd.Connect(etcd.ClientConfig{Endpoints: m.Endpoints()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		logs = append(logs, audit.New(etcd.NewStore(cli, "/x/", nil), nil, nil))
	}
	errs := make(chan error, replicas*each)
	for r, l := range logs {
		for i := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Append(context.Background(), fmt.Sprintf("replica-%d", r), "test", "", fmt.Sprint(i))
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := logs[0].Verify(context.Background())
	if err != nil || !res.OK || res.Entries != replicas*each {
		t.Fatalf("got %+v, %v; want %d entries in one valid chain", res, err, replicas*each)
	}
}

func TestListFiltersByActivation(t *testing.T) {
	l, _ := trail(t, 2)
	l.Append(context.Background(), "agent", "activation.created", "A1", "")
	got, next, err := l.List(context.Background(), audit.Filter{Activation: "A1"}, 0, 10)
	if err != nil || len(got) != 1 || got[0].Seq != 3 || next != 0 {
		t.Fatalf("got %+v, next %d, %v; want entry n° 3 alone and no next page", got, next, err)
	}
}

// A trail longer than a store page: verification carries the previous
// hash across pages and names an edit on the second page.
func TestVerifyWalksPagesAndNamesAnEditOnTheSecondPage(t *testing.T) {
	l, cli := trail(t, 8)
	l.PageSize = 3
	if res, err := l.Verify(context.Background()); err != nil || !res.OK || res.Entries != 8 {
		t.Fatalf("intact trail over 3 pages: %+v, %v", res, err)
	}
	put(t, cli, key(5), strings.Replace(get(t, cli, key(5)), "entrée 5", "entrée cinq", 1))
	mustBreakAt(t, l, 5, "modifiée")
	// An entry deleted at a page boundary is named too.
	l2, cli2 := trail(t, 8)
	l2.PageSize = 3
	cli2.Delete(context.Background(), key(4))
	mustBreakAt(t, l2, 4, "manque")
}

// Listing by pages: each page holds limit entries after the cursor, the
// next cursor leads to the following ones, the last page has none; the
// filter applies across store pages.
func TestListPagesWithACursor(t *testing.T) {
	l, _ := trail(t, 7)
	l.PageSize = 2
	var seen []uint64
	after := uint64(0)
	for range 10 {
		got, next, err := l.List(context.Background(), audit.Filter{}, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			seen = append(seen, e.Seq)
		}
		if next == 0 {
			break
		}
		after = next
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5 6 7]" {
		t.Errorf("pages held %v, want 1 to 7 once each", seen)
	}
	l.Append(context.Background(), "agent", "test", "B", "")
	got, next, err := l.List(context.Background(), audit.Filter{Activation: "B"}, 0, 1)
	if err != nil || len(got) != 1 || got[0].Seq != 8 || next != 0 {
		t.Errorf("filtered list: %+v, next %d, %v; want entry n° 8", got, next, err)
	}
}

// The journal page's read: the last entries, newest first, and how many
// the trail holds, whatever its length.
func TestLatestEntriesNewestFirst(t *testing.T) {
	l, _ := trail(t, 7)
	es, total, err := l.Latest(context.Background(), 3)
	if err != nil || total != 7 || len(es) != 3 || es[0].Seq != 7 || es[2].Seq != 5 {
		t.Fatalf("latest 3 of 7: %d entries (first n° %v), total %d, %v; want n° 7, 6, 5 of 7", len(es), es, total, err)
	}
}
