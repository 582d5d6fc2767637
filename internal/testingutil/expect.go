package testingutil

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Eventually waits until cond holds, looking again every few milliseconds
// (backing off to 50 ms), and fails the test with what it waited for past
// timeout. Tests wait on conditions, never for a fixed time.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	Poll(tb, timeout, 50*time.Millisecond, what, cond)
}

// Poll is Eventually looking at most every `every`: for conditions that
// cost a request to a cluster under test, which polling must not load.
func Poll(tb testing.TB, timeout, every time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, every)
	}
}

// Await reads a state until ok says it is the one waited for, and returns
// it; past timeout it fails the test with what it waited for and the last
// state read, which says how far things went.
func Await[T any](tb testing.TB, timeout time.Duration, what string, read func() (state T, ok bool)) T {
	tb.Helper()
	var last T
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		var ok bool
		if last, ok = read(); ok {
			return last
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s; last seen: %+v", timeout, what, last)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// AwaitProgress waits until count reaches want, for as long as it keeps
// rising: it fails the test when count has not moved for stall. For work
// paced by a rate (SMS at a provider's throughput), where how long the
// whole takes depends on the machine but a stop does not.
func AwaitProgress(tb testing.TB, stall time.Duration, what string, want int, count func() int) {
	tb.Helper()
	last, moved := count(), time.Now()
	pause := time.Millisecond
	for last < want {
		if time.Since(moved) > stall {
			tb.Fatalf("%s: %d of %d, none more in %v", what, last, want, stall)
		}
		time.Sleep(pause)
		pause = min(2*pause, 500*time.Millisecond)
		if n := count(); n != last {
			last, moved = n, time.Now()
		}
	}
}

// Outbound returns the SMS the simulator sent to number, oldest first.
func Outbound(sim *twiliosim.Server, number string) []twiliosim.Message {
	var out []twiliosim.Message
	for _, m := range sim.MessagesTo(number) {
		if m.Direction != twiliosim.DirectionInbound {
			out = append(out, m)
		}
	}
	return out
}

// IsNotice reports whether an SMS is one of Tocsin's notices to an
// official rather than an alert: the confirmation of an acknowledgement
// or how to confirm (tocsin.ConfirmationText, tocsin.GuidanceText).
func IsNotice(body string) bool {
	body = strings.TrimPrefix(body, tocsin.ExercisePrefix)
	return strings.HasPrefix(body, "Réception confirmée à ") || body == tocsin.GuidanceText(false)
}

// Alerts returns the SMS the simulator sent to number that are not
// notices (IsNotice), oldest first.
func Alerts(sim *twiliosim.Server, number string) []twiliosim.Message {
	var out []twiliosim.Message
	for _, m := range Outbound(sim, number) {
		if !IsNotice(m.Body) {
			out = append(out, m)
		}
	}
	return out
}

// Notices returns the notices the simulator sent to number, oldest first.
func Notices(sim *twiliosim.Server, number string) []twiliosim.Message {
	var out []twiliosim.Message
	for _, m := range Outbound(sim, number) {
		if IsNotice(m.Body) {
			out = append(out, m)
		}
	}
	return out
}

// ExpectSMS waits until number got an SMS containing every one of
// contains, and returns it.
func ExpectSMS(tb testing.TB, sim *twiliosim.Server, number string, contains ...string) twiliosim.Message {
	tb.Helper()
	var got twiliosim.Message
	Eventually(tb, 10*time.Second, "an SMS to "+number+" saying "+strings.Join(contains, ", "), func() bool {
		for _, m := range Outbound(sim, number) {
			if !slices.ContainsFunc(contains, func(s string) bool { return !strings.Contains(m.Body, s) }) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// ExpectSMSCounts checks that each number got exactly the SMS want says,
// and that no other number got any: "nothing else was sent". Call it once
// the sender is idle.
func ExpectSMSCounts(tb testing.TB, sim *twiliosim.Server, want map[string]int) {
	tb.Helper()
	got := map[string]int{}
	for _, m := range sim.Messages() {
		if m.Direction != twiliosim.DirectionInbound {
			got[m.To]++
		}
	}
	for n, w := range want {
		if got[n] != w {
			tb.Errorf("%s got %d SMS, want %d", n, got[n], w)
		}
	}
	for n, g := range got {
		if _, ok := want[n]; !ok {
			tb.Errorf("%s got %d SMS, want none", n, g)
		}
	}
}
