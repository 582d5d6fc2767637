package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestSessionsExpireWithTheirLease(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	if err := s.CreateSession(ctx, "id-1", []byte(`{"user":"marie"}`), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "id-2", []byte(`{"user":"paul"}`), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "id-1"); err != nil || string(got) != `{"user":"marie"}` {
		t.Fatalf("session id-1: %q, %v", got, err)
	}
	if err := s.DeleteSession(ctx, "id-2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "id-2"); got != nil {
		t.Errorf("deleted session still there: %q", got)
	}
	deadline := time.Now().Add(6 * time.Second)
	for {
		got, err := s.Session(ctx, "id-1")
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a session of 2 s still there after 6 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLoginFailuresCountInAWindow(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if n, err := s.AddLoginFailure(ctx, "user:marie", time.Hour); err != nil || n != i {
			t.Fatalf("failure %d: count %d, %v", i, n, err)
		}
	}
	if n, _ := s.LoginFailures(ctx, "user:marie"); n != 3 {
		t.Errorf("failures: %d, want 3", n)
	}
	if n, _ := s.LoginFailures(ctx, "user:paul"); n != 0 {
		t.Errorf("failures of another key: %d, want 0", n)
	}
	if err := s.ResetLoginFailures(ctx, "user:marie"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.LoginFailures(ctx, "user:marie"); n != 0 {
		t.Errorf("after reset: %d, want 0", n)
	}
}

func TestUserPasswords(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	if err := s.CreateUser(ctx, tocsin.User{Name: "marie", Role: tocsin.RoleOfficer}, "$argon2id$1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, tocsin.User{Name: "marie", Role: tocsin.RoleAdmin}, "x"); tocsin.ErrorCode(err) != tocsin.EConflict {
		t.Errorf("second marie: %v, want a conflict", err)
	}
	if err := s.SetPasswordHash(ctx, "marie", "$argon2id$2"); err != nil {
		t.Fatal(err)
	}
	u, hash, err := s.UserPassword(ctx, "marie")
	if err != nil || u.Role != tocsin.RoleOfficer || hash != "$argon2id$2" {
		t.Errorf("marie: %+v %q %v", u, hash, err)
	}
	if err := s.SetPasswordHash(ctx, "personne", "x"); tocsin.ErrorCode(err) != tocsin.ENotFound {
		t.Errorf("password of nobody: %v, want not found", err)
	}
	// A token user keeps working for the API, and may get a password.
	if err := s.CreateUserWithToken(ctx, tocsin.User{Name: "admin", Role: tocsin.RoleAdmin}, "jeton"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "admin", "$argon2id$3"); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByToken(ctx, "jeton"); err != nil || u.Name != "admin" || u.Role != tocsin.RoleAdmin {
		t.Errorf("token after a password: %+v %v", u, err)
	}
}

func TestWatchActivityInRevisionOrderAndCompaction(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, rs := testActivation(3)
	if err := s.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceOfficials(ctx, []tocsin.Official{{ID: "x", Numbers: []tocsin.Number{{E164: "+33639980001", Kind: tocsin.Mobile}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRecipient(ctx, a.ID, "o0001", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		r.Status = tocsin.StatusSent
		return []tocsin.Event{{Kind: tocsin.EventAccepted}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []etcd.Change
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	s.WatchActivity(wctx, rev, nil, func(cs []etcd.Change) {
		got = append(got, cs...)
		if len(got) >= 7 {
			wcancel()
		}
	})
	// 3 recipients, the activation and its first event, then a recipient
	// and its event: the directory and the indexes are not activity.
	var kinds []string
	var last int64
	for _, c := range got {
		if c.Rev < last {
			t.Errorf("revision %d after %d", c.Rev, last)
		}
		last = c.Rev
		switch {
		case c.Record != nil:
			kinds = append(kinds, "act")
		case c.Recipient != nil:
			kinds = append(kinds, "rcpt:"+c.Recipient.Official.ID)
		case c.Event != nil:
			kinds = append(kinds, "evt:"+c.Event.Kind)
		}
	}
	want := []string{"rcpt:o0000", "rcpt:o0001", "rcpt:o0002", "act", "evt:activated", "rcpt:o0001", "evt:accepted"}
	if len(kinds) != len(want) {
		t.Fatalf("changes %v; want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Errorf("change %d: %s, want %s (all: %v)", i, kinds[i], want[i], kinds)
		}
	}
	cur, _ := s.Revision(ctx)
	if _, err := s.Client().Compact(ctx, cur); err != nil {
		t.Fatal(err)
	}
	err = s.WatchActivity(ctx, rev, nil, func([]etcd.Change) {})
	if !errors.Is(err, etcd.ErrCompacted) {
		t.Errorf("watch from a compacted revision: %v; want ErrCompacted", err)
	}
}
