package etcd_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A creation in parts: the record and the first part at once with the
// numbers they need, the number index completed before the next part
// (keeping a number fixed meanwhile), each next part written once even
// when two replicas race for it, and the progress gone with the last part.
func TestACreationInPartsWritesEachPartOnce(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(10)
	c := &tocsin.Creation{Directory: "v1", Playbook: tocsin.Playbook{ID: "crue"}, Written: 3, Last: rs[2].Official.ID}
	mustBegin(t, s, a, rs, c)
	if got, _ := s.Recipients(ctx, a.ID); len(got) != 3 {
		t.Fatalf("after the first part: %d recipients, want 3", len(got))
	}
	answers := func(number string) []string {
		t.Helper()
		_, officials, err := s.OpenByNumber(ctx, number)
		if err != nil {
			t.Fatal(err)
		}
		if len(officials) == 0 {
			return nil
		}
		return officials[0]
	}
	// The first part's numbers answer at once; a part still to come,
	// texted nothing yet, is not in the index yet.
	if got := answers("+33639980001"); !slices.Equal(got, []string{"o0001"}) {
		t.Fatalf("first part's number: answers for %v; want o0001", got)
	}
	if got := answers("+33639980009"); got != nil {
		t.Fatalf("number of a part still to come, before the index is completed: answers for %v; want none", got)
	}
	got, rev, err := s.Creation(ctx, a.ID)
	if err != nil || got == nil || got.Written != 3 || got.Playbook.ID != "crue" || got.Indexed {
		t.Fatalf("creation: %+v, %v", got, err)
	}
	if all, err := s.Creations(ctx); err != nil || all[a.ID] != rev {
		t.Fatalf("creations in progress: %v, %v; want %s at %d", all, err, a.ID, rev)
	}

	// A duty officer fixes a number of the first part meanwhile; the
	// index is completed, by a replica that dies before going on, then
	// by the next, whose progress is then stale.
	if err := s.IndexNumbers(ctx, a.ID, "o0001", []string{"+33639980001"}, []string{"+33700000001"}); err != nil {
		t.Fatal(err)
	}
	indexed := *got
	indexed.Indexed = true
	if _, err := s.IndexCreation(ctx, a.ID, rev, rs[3:], &indexed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IndexCreation(ctx, a.ID, rev, rs[3:], &indexed); tocsin.ErrorCode(err) != tocsin.EConflict {
		t.Fatalf("index completed from a stale progress: %v; want a conflict", err)
	}
	for number, want := range map[string][]string{
		"+33639980009": {"o0009"}, "+33639980003": {"o0003"}, "+33639980002": {"o0002"},
		"+33700000001": {"o0001"}, "+33639980001": nil,
	} {
		if got := answers(number); !slices.Equal(got, want) {
			t.Errorf("after the index is completed, %s answers for %v; want %v", number, got, want)
		}
	}
	got, rev, err = s.Creation(ctx, a.ID)
	if err != nil || got == nil || !got.Indexed || got.Written != 3 {
		t.Fatalf("creation once indexed: %+v, %v", got, err)
	}

	// Two replicas write the next part from the same progress: one wins.
	next := &tocsin.Creation{Directory: "v1", Playbook: got.Playbook, Written: 6, Last: rs[5].Official.ID}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins, conflicts int
	var won int64
	for range 2 {
		wg.Go(func() {
			r, err := s.WriteCreation(ctx, a.ID, rev, rs[3:6], next)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins, won = wins+1, r
			case tocsin.ErrorCode(err) == tocsin.EConflict:
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 1 {
		t.Fatalf("two writers of one part: %d won, %d refused; want one each", wins, conflicts)
	}
	var loaded []string
	err = s.LoadRecipients(ctx, a.ID, rs[2].Official.ID, 2, func(_ *tocsin.Activation, page []tocsin.Recipient, _ []int64) error {
		for _, r := range page {
			loaded = append(loaded, r.Official.ID)
		}
		return nil
	})
	if err != nil || len(loaded) != 3 || loaded[0] != "o0003" || loaded[2] != "o0005" {
		t.Fatalf("recipients after o0002: %v, %v; want o0003 to o0005", loaded, err)
	}

	// The last part ends the creation.
	if _, err := s.WriteCreation(ctx, a.ID, won, rs[6:], nil); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Creation(ctx, a.ID); err != nil || got != nil {
		t.Fatalf("after the last part: creation %+v, %v; want none", got, err)
	}
	if all, _ := s.Recipients(ctx, a.ID); len(all) != 10 {
		t.Fatalf("after the last part: %d recipients, want 10", len(all))
	}
	if _, err := s.WriteCreation(ctx, a.ID, won, rs[6:], nil); tocsin.ErrorCode(err) != tocsin.EConflict {
		t.Fatalf("a part written again after the end: %v; want a conflict", err)
	}
}

// The directory version a creation draws from stays while it runs, though
// an import replaced it and the collector ran; it goes after.
func TestADirectoryVersionStaysWhileACreationDrawsFromIt(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(4)
	officials := func(name string) []tocsin.Official {
		return []tocsin.Official{{ID: "o0001", Name: name, Numbers: rs[0].Official.Numbers}}
	}
	if err := s.ReplaceOfficials(ctx, officials("avant")); err != nil {
		t.Fatal(err)
	}
	_, v1, err := s.OfficialsVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &tocsin.Creation{Directory: v1, Written: 1, Last: rs[0].Official.ID}
	mustBegin(t, s, a, rs, c)
	if err := s.ReplaceOfficials(ctx, officials("après")); err != nil {
		t.Fatal(err)
	}
	collect := func() {
		t.Helper()
		rev, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CollectLeftovers(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	collect()
	if got, err := s.OfficialsOf(ctx, v1); err != nil || len(got) != 1 || got[0].Name != "avant" {
		t.Fatalf("version %s during the creation: %+v, %v; want it kept", v1, got, err)
	}
	_, rev, _ := s.Creation(ctx, a.ID)
	if _, err := s.WriteCreation(ctx, a.ID, rev, rs[1:], nil); err != nil {
		t.Fatal(err)
	}
	collect()
	if _, err := s.OfficialsOf(ctx, v1); tocsin.ErrorCode(err) != tocsin.ENotFound {
		t.Fatalf("version %s after the creation: %v; want it collected", v1, err)
	}
}

// The index of a creation larger than one batch of shards is completed
// whole: every number of every part answers for its official.
func TestTheNumberIndexOfALargeCreationIsCompletedBeforeItsSecondPart(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(5000) // 79 shards: two batches
	c := &tocsin.Creation{Directory: "v1", Written: 100, Last: rs[99].Official.ID}
	mustBegin(t, s, a, rs, c)
	_, rev, err := s.Creation(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	next := *c
	next.Indexed = true
	if _, err := s.IndexCreation(ctx, a.ID, rev, rs[100:], &next); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rs); i += 97 {
		number := fmt.Sprintf("+3363998%04d", i)
		if _, officials, err := s.OpenByNumber(ctx, number); err != nil || len(officials) != 1 || !slices.Equal(officials[0], []string{rs[i].Official.ID}) {
			t.Errorf("%s answers for %v, %v; want %s", number, officials, err, rs[i].Official.ID)
		}
	}
}

// mustBegin records a with its first c.Written of rs, its number index
// sized for all of rs.
func mustBegin(t *testing.T, s *etcd.Store, a *tocsin.Activation, rs []tocsin.Recipient, c *tocsin.Creation) {
	t.Helper()
	numbers := 0
	for i := range rs {
		numbers += rs[i].NumberCount()
	}
	if err := s.BeginActivation(t.Context(), a, rs[:c.Written], numbers, c, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
}
