// Package testingutil starts the real dependencies tests run against: an
// embedded etcd member or cluster and the Twilio simulator, each on free
// loopback ports and stopped when the test ends. Only tests import it, so
// that the testing package stays out of the binaries.
package testingutil

import (
	"testing"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// MustStartEtcd starts a single embedded member in tb's temporary folder,
// without fsync, and stops it when the test ends.
func MustStartEtcd(tb testing.TB) *etcd.Embedded {
	tb.Helper()
	m, err := etcd.StartEmbedded(etcd.EmbeddedConfig{Dir: tb.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		tb.Fatalf("start etcd: %v", err)
	}
	tb.Cleanup(m.Close)
	return m
}

// MustStore starts an embedded member and returns a store over it, under
// the prefix /test/.
func MustStore(tb testing.TB) *etcd.Store {
	tb.Helper()
	m := MustStartEtcd(tb)
	cli, err := etcd.Connect(etcd.ClientConfig{Endpoints: m.Endpoints()})
	if err != nil {
		tb.Fatalf("connect etcd: %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return etcd.NewStore(cli, "/test/", nil)
}

// MustStartCluster starts n embedded members on free loopback ports, in
// tb's temporary folder, and stops them when the test ends.
func MustStartCluster(tb testing.TB, n int) *etcd.Cluster {
	tb.Helper()
	c, err := etcd.StartCluster(tb.TempDir(), n)
	if err != nil {
		tb.Fatalf("start etcd cluster: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// MustRestart restarts members of c together and fails the test if one
// does not come back.
func MustRestart(tb testing.TB, c *etcd.Cluster, members ...int) {
	tb.Helper()
	if err := c.RestartAll(members...); err != nil {
		tb.Fatal(err)
	}
}

// MustStartSimulator starts a Twilio simulator on a free loopback port and
// closes it when the test ends. cfg is used as given: its zero value is a
// simulator with DefaultAccountSID and DefaultAuthToken whose numbers are
// all Silent, with no delays, on the wall clock.
func MustStartSimulator(tb testing.TB, cfg twiliosim.Config) *twiliosim.Server {
	tb.Helper()
	s, err := twiliosim.Start("127.0.0.1:0", cfg)
	if err != nil {
		tb.Fatalf("start Twilio simulator: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
