package etcd_test

import (
	"context"
	"testing"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A follower reads an activation's recipients as they stand: those a
// creation in parts wrote since, and those changed, in the order of the
// officials' ids; what a caller does to its copy changes nothing.
func TestAFollowerReadsRecipientsAsTheyStand(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	a, rs := testActivation(10)
	c := &tocsin.Creation{Directory: "v1", Written: 3, Last: rs[2].Official.ID}
	mustBegin(t, s, a, rs, c)
	f := s.FollowRecipients()
	got, err := f.Recipients(ctx, a.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("first read: %d recipients, %v; want the first part, 3", len(got), err)
	}
	got[0].Status = tocsin.StatusFailed // the caller's copy

	_, rev, err := s.Creation(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteCreation(ctx, a.ID, rev, rs[3:], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRecipient(ctx, a.ID, "o0001", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		r.Status = tocsin.StatusInformed
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err = f.Recipients(ctx, a.ID)
	if err != nil || len(got) != 10 {
		t.Fatalf("second read: %d recipients, %v; want 10", len(got), err)
	}
	want, _ := s.Recipients(ctx, a.ID)
	for i := range want {
		if got[i].Official.ID != want[i].Official.ID || got[i].Status != want[i].Status {
			t.Errorf("recipient %d: %s %s; want %s %s", i, got[i].Official.ID, got[i].Status, want[i].Official.ID, want[i].Status)
		}
	}
	if got[1].Status != tocsin.StatusInformed || got[0].Status != tocsin.StatusPending {
		t.Errorf("o0000 %s, o0001 %s; want pending (the caller's change not kept), informed", got[0].Status, got[1].Status)
	}

	// Forgotten, it is read whole again.
	f.Forget(func(string) bool { return false })
	if got, err := f.Recipients(ctx, a.ID); err != nil || len(got) != 10 {
		t.Fatalf("after Forget: %d recipients, %v; want 10", len(got), err)
	}
}
