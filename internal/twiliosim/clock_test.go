package twiliosim

import (
	"os"
	"testing"
	"time"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestManualClock(t *testing.T) {
	t0 := time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC)
	c := NewManualClock(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(2*time.Second, at("b"))
	c.AfterFunc(time.Second, func() {
		at("a")()
		c.AfterFunc(500*time.Millisecond, at("a2"))
	})
	stopped := c.AfterFunc(1500*time.Millisecond, at("never"))
	c.AfterFunc(0, at("now"))
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop: want true once, then false")
	}
	if c.Pending() != 3 {
		t.Errorf("Pending = %d, want 3", c.Pending())
	}
	c.Advance(0)
	c.Advance(2 * time.Second)
	want := []string{"now@0s", "a@1s", "a2@1.5s", "b@2s"}
	if len(got) != len(want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ran %v, want %v", got, want)
			break
		}
	}
	if !c.Now().Equal(t0.Add(2 * time.Second)) {
		t.Errorf("Now = %s", c.Now())
	}
}

func TestCloseDropsPendingDelays(t *testing.T) {
	hook := newHook(t, testToken)
	srv, api := start(t, Config{Profile: Profile{Delivery: Fixed(time.Hour)}})
	sendSMS(t, api, mayor, "x", hook.URL)
	done := make(chan struct{})
	go func() {
		_ = srv.Close()
		_ = srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for an hour-long delay")
	}
	hook.none(t, 10*time.Millisecond)
}

func TestCloseWaitsForCallbacksUnderWay(t *testing.T) {
	hook := newHook(t, testToken)
	hook.delay = 100 * time.Millisecond
	srv, api := start(t, Config{})
	sendSMS(t, api, mayor, "x", hook.URL)
	waitFor(t, "the message to be sent", func() bool {
		m := srv.MessagesTo(mayor)
		return len(m) == 1 && m[0].Status != "queued"
	})
	begin := time.Now()
	_ = srv.Close()
	if len(hook.got) == 0 {
		t.Errorf("Close returned after %s, before the callback under way was answered", time.Since(begin))
	}
}
