package etcd

import (
	"testing"
)

// MustStartEmbedded starts a single embedded member in tb's temporary
// folder, on free loopback ports, and stops it when the test ends.
func MustStartEmbedded(tb testing.TB) *Embedded {
	tb.Helper()
	m, err := StartEmbedded(EmbeddedConfig{Dir: tb.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		tb.Fatalf("start etcd: %v", err)
	}
	tb.Cleanup(m.Close)
	return m
}

// MustStore starts an embedded member and returns a store over it.
func MustStore(tb testing.TB) *Store {
	tb.Helper()
	m := MustStartEmbedded(tb)
	cli, err := Connect(ClientConfig{Endpoints: m.Endpoints()})
	if err != nil {
		tb.Fatalf("connect etcd: %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return NewStore(cli, "/test/", nil)
}
