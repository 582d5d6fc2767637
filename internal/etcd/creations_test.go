package etcd_test

import (
	"context"
	"sync"
	"testing"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A creation in parts: the record and the first part at once, the number
// index whole from the start, each next part written once even when two
// replicas race for it, and the progress gone with the last part.
func TestACreationInPartsWritesEachPartOnce(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(10)
	c := &tocsin.Creation{Directory: "v1", Playbook: tocsin.Playbook{ID: "crue"}, Written: 3, Last: rs[2].Official.ID}
	if err := s.BeginActivation(ctx, a, rs, c, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Recipients(ctx, a.ID); len(got) != 3 {
		t.Fatalf("after the first part: %d recipients, want 3", len(got))
	}
	// A reply from an official of a part still to come finds its activation.
	if _, officials, err := s.OpenByNumber(ctx, "+33639980009"); err != nil || len(officials) != 1 || officials[0][0] != "o0009" {
		t.Fatalf("number index before the last part: %v, %v; want o0009", officials, err)
	}
	got, rev, err := s.Creation(ctx, a.ID)
	if err != nil || got == nil || got.Written != 3 || got.Playbook.ID != "crue" {
		t.Fatalf("creation: %+v, %v", got, err)
	}
	if all, err := s.Creations(ctx); err != nil || all[a.ID] != rev {
		t.Fatalf("creations in progress: %v, %v; want %s at %d", all, err, a.ID, rev)
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
	if err := s.BeginActivation(ctx, a, rs, c, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
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
