package etcd_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
		if left, ok, err := s.TakeLoginAttempt(ctx, map[string]int{"user:marie": 5}, time.Hour); err != nil || !ok || left != 5-i {
			t.Fatalf("attempt %d: %d left, granted %v, %v; want %d left", i, left, ok, err, 5-i)
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

// Attempts taken at once never pass the limit: checking it and counting
// is one transaction; and a key at its limit refuses the other keys'
// counting too.
func TestLoginAttemptsTakenAtOnceKeepTheLimit(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	limits := map[string]int{"user:marie@10.0.0.1": 5, "ip:10.0.0.1": 30}
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, ok, err := s.TakeLoginAttempt(ctx, limits, time.Hour); err == nil && ok {
				granted.Add(1)
			} else if err != nil {
				t.Errorf("take: %v", err)
			}
		})
	}
	wg.Wait()
	if g := granted.Load(); g != 5 {
		t.Errorf("%d attempts granted, want 5", g)
	}
	if n, _ := s.LoginFailures(ctx, "ip:10.0.0.1"); n != 5 {
		t.Errorf("the address counted %d attempts, want 5 (refused ones count nothing)", n)
	}
	if err := s.ReturnLoginAttempt(ctx, "ip:10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.LoginFailures(ctx, "ip:10.0.0.1"); n != 4 {
		t.Errorf("after giving one back: %d, want 4", n)
	}
}

// The return from the identity provider, replayed at once on several
// replicas: the login's state is taken by exactly one.
func TestALoginStateIsTakenOnceEvenAtOnce(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	if err := s.PutLoginState(ctx, "etat", []byte(`{"nonce":"n"}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	var taken atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			data, err := s.TakeLoginState(ctx, "etat")
			if err != nil {
				t.Error(err)
				return
			}
			if data != nil {
				if string(data) != `{"nonce":"n"}` {
					t.Errorf("state's data %q", data)
				}
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 1 {
		t.Errorf("state taken %d times; want once", n)
	}
	if data, err := s.TakeLoginState(ctx, "jamais-mis"); data != nil || err != nil {
		t.Errorf("unknown state: %q, %v; want nothing", data, err)
	}
}

// Two replicas accept the same code at once: its step is recorded once,
// and an earlier step after it never.
func TestASecondFactorStepIsUsedOnce(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	if err := s.CreateUser(ctx, tocsin.User{Name: "chef", Role: tocsin.RoleAdmin}, "hash"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.UseSecondFactorStep(ctx, "chef", 100); ok || err != nil {
		t.Errorf("a step with no factor enrolled: %v, %v; want refused", ok, err)
	}
	if err := s.SetSecondFactor(ctx, "chef", tocsin.SecondFactor{Secret: "JBSWY3DPEHPK3PXP", Confirmed: true, LastStep: 99}); err != nil {
		t.Fatal(err)
	}
	var used atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := s.UseSecondFactorStep(ctx, "chef", 100)
			if err != nil {
				t.Error(err)
			}
			if ok {
				used.Add(1)
			}
		})
	}
	wg.Wait()
	if n := used.Load(); n != 1 {
		t.Errorf("step used %d times; want once", n)
	}
	if ok, _ := s.UseSecondFactorStep(ctx, "chef", 99); ok {
		t.Error("an earlier step accepted after a later one")
	}
	if _, hash, _ := s.UserPassword(ctx, "chef"); hash != "hash" {
		t.Errorf("password hash %q after the second factor's writes; want it kept", hash)
	}
	if ok, err := s.UseSecondFactorStep(ctx, "personne", 1); ok || tocsin.ErrorCode(err) != tocsin.ENotFound {
		t.Errorf("unknown user: %v, %v; want ENotFound", ok, err)
	}
}
