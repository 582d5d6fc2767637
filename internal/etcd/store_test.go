package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func testActivation(n int) (*tocsin.Activation, []tocsin.Recipient) {
	now := time.Now().UTC()
	a := &tocsin.Activation{ID: "act-1", Title: "Crue", State: tocsin.Open, ActivatedAt: now,
		Deadline: now.Add(time.Hour), Ladder: tocsin.DefaultLadder, Targeted: n}
	rs := make([]tocsin.Recipient, n)
	for i := range rs {
		rs[i] = tocsin.Recipient{
			Official: tocsin.Official{ID: fmt.Sprintf("o%04d", i), Numbers: []tocsin.Number{{E164: fmt.Sprintf("+3363998%04d", i), Kind: tocsin.Mobile}}},
			Status:   tocsin.StatusPending,
		}
	}
	return a, rs
}

func TestCreateActivationLargerThanOneTransaction(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(450) // 900 operations: several batches
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Recipients(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 450 {
		t.Fatalf("recipients: got %d, want 450", len(got))
	}
	acts, officials, err := s.OpenByNumber(ctx, "+33639980123")
	if err != nil || len(acts) != 1 || len(officials[0]) != 1 || officials[0][0] != "o0123" {
		t.Fatalf("OpenByNumber: got %v, %v; want o0123", officials, err)
	}
	if err := s.CreateActivation(ctx, a, rs[:1], tocsin.Event{}); tocsin.ErrorCode(err) != tocsin.EConflict {
		t.Fatalf("second create: got %v, want conflict", err)
	}
	ev, _ := s.Events(ctx, a.ID)
	if len(ev) != 1 || ev[0].Kind != tocsin.EventActivated || ev[0].At.IsZero() {
		t.Fatalf("events: got %+v, want one activated event with a time", ev)
	}
}

func TestUpdateRecipientUnderContentionLosesNothing(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(1)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateRecipient(ctx, a.ID, "o0000", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
				r.Attempts = append(r.Attempts, tocsin.Attempt{ID: fmt.Sprint(i)})
				return []tocsin.Event{{Kind: tocsin.EventAttempt}}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r, _ := s.Recipient(ctx, a.ID, "o0000")
	if len(r.Attempts) != 20 {
		t.Fatalf("attempts: got %d, want 20 (an update was lost)", len(r.Attempts))
	}
	ev, _ := s.Events(ctx, a.ID)
	if len(ev) != 21 {
		t.Fatalf("events: got %d, want 21", len(ev))
	}
}

func TestDeposedLeaderCannotWrite(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(1)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	l1, err := s.Campaign(ctx, "one", 2)
	if err != nil {
		t.Fatal(err)
	}
	write := func(st *etcd.Store) error {
		_, err := st.UpdateRecipient(ctx, a.ID, "o0000", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			r.Attempts = append(r.Attempts, tocsin.Attempt{ID: "x"})
			return nil, nil
		})
		return err
	}
	if err := write(l1.Store); err != nil {
		t.Fatalf("leader write: %v", err)
	}
	l1.Resign(ctx)
	l2, err := s.Campaign(ctx, "two", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Resign(ctx)
	if err := write(l1.Store); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("deposed leader write: got %v, want ErrNotLeader", err)
	}
	if id, _ := s.Leader(ctx); id != "two" {
		t.Fatalf("leader: got %q, want two", id)
	}
	r, _ := s.Recipient(ctx, a.ID, "o0000")
	if len(r.Attempts) != 1 {
		t.Fatalf("attempts: got %d, want 1", len(r.Attempts))
	}
}

func TestReplaceOfficialsSwitchesWholeDirectory(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	mk := func(n int, name string) []tocsin.Official {
		out := make([]tocsin.Official, n)
		for i := range out {
			out[i] = tocsin.Official{ID: fmt.Sprintf("o%04d", i), Name: name}
		}
		return out
	}
	if err := s.ReplaceOfficials(ctx, mk(300, "v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceOfficials(ctx, mk(120, "v2")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Officials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 120 || got[0].Name != "v2" || got[119].Name != "v2" {
		t.Fatalf("officials: got %d (first %q), want 120 of v2", len(got), got[0].Name)
	}
}

func TestUpdateRecipientFromAStaleStateReadsAgain(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(3)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	var pages [][]int64
	var held tocsin.Recipient
	err := s.LoadRecipients(ctx, a.ID, "", 2, func(_ *tocsin.Activation, rs []tocsin.Recipient, revs []int64) error {
		pages = append(pages, revs)
		if rs[0].Official.ID == "o0000" {
			held = rs[0]
		}
		return nil
	})
	if err != nil || len(pages) != 2 || len(pages[0]) != 2 || len(pages[1]) != 1 {
		t.Fatalf("pages of 2 over 3 recipients: got %v, %v", pages, err)
	}
	heldRev := pages[0][0]

	// Someone else writes the recipient after it was read.
	if _, err := s.UpdateRecipient(ctx, a.ID, "o0000", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		r.Message = "écrit ailleurs"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, got, rev, err := s.UpdateRecipientFrom(ctx, a.ID, "o0000", a, &held, heldRev, func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		calls++
		r.Speech = "écrit ici"
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || got.Message != "écrit ailleurs" || got.Speech != "écrit ici" || rev <= heldRev {
		t.Fatalf("after a lost race: %d calls, message %q, speech %q, rev %d (held %d); want 2 calls and both writes kept",
			calls, got.Message, got.Speech, rev, heldRev)
	}

	// From the state just written, the next write needs no read.
	calls = 0
	_, got, rev2, err := s.UpdateRecipientFrom(ctx, a.ID, "o0000", a, got, rev, func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		calls++
		r.Status = tocsin.StatusSent
		return nil, nil
	})
	if err != nil || calls != 1 || rev2 <= rev || got.Status != tocsin.StatusSent {
		t.Fatalf("from a fresh state: %d calls, rev %d, err %v; want one call and a write", calls, rev2, err)
	}
}

func TestWriteDecidedOnAnOpenActivationIsRefusedOnceClosed(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(1)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	open, r, rev, err := s.RecipientWith(ctx, a.ID, "o0000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateActivation(ctx, a.ID, func(a *tocsin.Activation) ([]tocsin.Event, error) {
		a.State = tocsin.Closed
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The recipient itself did not change: only the activation's closing
	// can refuse the write.
	var seen []tocsin.ActivationState
	_, got, _, err := s.UpdateRecipientFrom(ctx, a.ID, "o0000", open, r, rev, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		seen = append(seen, a.State)
		if a.State != tocsin.Open {
			return nil, tocsin.ErrNoChange
		}
		r.Status = tocsin.StatusSending
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[1] != tocsin.Closed || got.Status != tocsin.StatusPending {
		t.Fatalf("states seen %v, status %s; want open then closed, and nothing written", seen, got.Status)
	}
	stored, _ := s.Recipient(ctx, a.ID, "o0000")
	if stored.Status != tocsin.StatusPending {
		t.Fatalf("stored status %s, want pending", stored.Status)
	}
}

// Many writers at once share transactions; a write whose compare fails
// (another writer's change to the same recipient, a closed activation)
// must not take the others down with it, and none may be lost.
func TestConcurrentWritesToManyRecipientsAllLand(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(150)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 450 { // three writers per recipient, racing
		wg.Go(func() {
			id := fmt.Sprintf("o%04d", i%150)
			_, err := s.UpdateRecipient(ctx, a.ID, id, func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
				r.Attempts = append(r.Attempts, tocsin.Attempt{ID: fmt.Sprint(i)})
				return []tocsin.Event{{Kind: tocsin.EventAttempt, Attempt: fmt.Sprint(i)}}, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Recipients(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if len(r.Attempts) != 3 {
			t.Errorf("%s: %d attempts, want 3 (a write was lost or doubled)", r.Official.ID, len(r.Attempts))
		}
	}
	ev, _ := s.Events(ctx, a.ID)
	if len(ev) != 451 {
		t.Fatalf("events: got %d, want 451", len(ev))
	}
}

func TestDeposedLeaderWritesNothingWhenWritesAreCombined(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(40)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	l1, err := s.Campaign(ctx, "one", 2)
	if err != nil {
		t.Fatal(err)
	}
	l1.Resign(ctx)
	l2, err := s.Campaign(ctx, "two", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Resign(ctx)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			_, err := l1.Store.UpdateRecipient(ctx, a.ID, fmt.Sprintf("o%04d", i), func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
				r.Attempts = append(r.Attempts, tocsin.Attempt{ID: "x"})
				return nil, nil
			})
			if !errors.Is(err, etcd.ErrNotLeader) {
				t.Errorf("deposed leader write %d: got %v, want ErrNotLeader", i, err)
			}
		})
	}
	wg.Wait()
	got, _ := s.Recipients(ctx, a.ID)
	for _, r := range got {
		if len(r.Attempts) != 0 {
			t.Fatalf("%s: a deposed leader's write landed", r.Official.ID)
		}
	}
}

// A number may answer for several officials (a deputy standing in for
// two mayors), in several open activations; closed ones no longer count.
func TestOpenByNumberFindsEveryOfficialANumberAnswersFor(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	deputy := tocsin.Contact{ID: "adjoint", Numbers: []tocsin.Number{{E164: "+33639990000", Kind: tocsin.Mobile}}}
	for i, id := range []string{"act-a", "act-b", "act-c"} {
		a, rs := testActivation(300)
		a.ID, a.ActivatedAt = id, a.ActivatedAt.Add(time.Duration(i)*time.Minute)
		rs[7].Deputies = []tocsin.Contact{deputy}
		rs[250].Deputies = []tocsin.Contact{deputy}
		if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateActivation(ctx, "act-b", func(a *tocsin.Activation) ([]tocsin.Event, error) {
		a.State = tocsin.Closed
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	acts, officials, err := s.OpenByNumber(ctx, "+33639990000")
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 2 || acts[0].ID != "act-a" || acts[1].ID != "act-c" {
		t.Fatalf("activations %v, want act-a then act-c", acts)
	}
	for i := range officials {
		if fmt.Sprint(officials[i]) != "[o0007 o0250]" {
			t.Errorf("%s: officials %v, want [o0007 o0250]", acts[i].ID, officials[i])
		}
	}
	for _, n := range []string{"+33639980000", "+33639980299"} {
		if _, officials, err := s.OpenByNumber(ctx, n); err != nil || len(officials) != 2 || len(officials[0]) != 1 {
			t.Errorf("%s: got %v, %v; want one official in two activations", n, officials, err)
		}
	}
	if acts, _, err := s.OpenByNumber(ctx, "+33700000000"); err != nil || len(acts) != 0 {
		t.Errorf("unknown number: got %v, %v; want nothing", acts, err)
	}
}

// Two imports at one instant of the store's clock (a manual clock, a
// coarse one) must not take the directory down with the old version.
func TestReplaceOfficialsTwiceAtOneInstantKeepsTheSecond(t *testing.T) {
	cli, err := etcd.Connect(etcd.ClientConfig{Endpoints: testingutil.MustStartEtcd(t).Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	at := time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC)
	s := etcd.NewStore(cli, "/stopped-clock/", func() time.Time { return at })
	ctx := context.Background()
	one := []tocsin.Official{{ID: "a", Name: "A", Role: "maire", Numbers: []tocsin.Number{{E164: "+33639980001", Kind: tocsin.Mobile}}}}
	two := append(one, tocsin.Official{ID: "b", Name: "B", Role: "maire", Numbers: []tocsin.Number{{E164: "+33639980002", Kind: tocsin.Mobile}}})
	for _, dir := range [][]tocsin.Official{one, two} {
		if err := s.ReplaceOfficials(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Officials(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("directory after two imports at one instant: %d officials, %v; want 2", len(got), err)
	}
}

// The directory in force is kept decoded; a new import replaces it, here
// and on a replica that only reads.
func TestOfficialsFollowTheVersionInForce(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	other := etcd.NewStore(s.Client(), "/test/", nil) // another replica
	official := func(id string) tocsin.Official {
		return tocsin.Official{ID: id, Name: id, Role: "maire", Numbers: []tocsin.Number{{E164: "+33639980001", Kind: tocsin.Mobile}}}
	}
	for _, dir := range [][]tocsin.Official{
		{official("b"), official("a")},
		{official("c")},
	} {
		if err := s.ReplaceOfficials(ctx, dir); err != nil {
			t.Fatal(err)
		}
		for _, st := range []*etcd.Store{s, other} {
			got, err := st.Officials(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			want := []string{"a", "b"}
			if len(dir) == 1 {
				want = []string{"c"}
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Fatalf("officials %v, want %v", ids, want)
			}
			got[0].Name = "changed by a caller"
			if again, _ := st.Officials(ctx); again[0].Name != again[0].ID {
				t.Fatalf("a caller's change reached the directory: %q", again[0].Name)
			}
		}
	}
}
