package twiliosim

import "testing"

// MustStart starts a simulator on a free loopback port for a test, and
// closes it when the test ends. cfg is used as given: its zero value is a
// simulator with DefaultAccountSID and DefaultAuthToken whose numbers are
// all Silent, with no delays, on the wall clock.
func MustStart(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := Start("127.0.0.1:0", cfg)
	if err != nil {
		tb.Fatalf("start Twilio simulator: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
