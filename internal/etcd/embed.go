package etcd

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// EmbeddedConfig configures an embedded etcd member.
type EmbeddedConfig struct {
	Dir       string // data directory of the member
	Name      string // member name, default "tocsin"
	ClientURL string // e.g. http://127.0.0.1:2379; "" picks http://127.0.0.1:0
	PeerURL   string // e.g. http://127.0.0.1:2380; "" picks http://127.0.0.1:0
	// InitialCluster, for a cluster of several embedded members:
	// "a=http://127.0.0.1:2380,b=…". Empty means a single member.
	InitialCluster string
	// UnsafeNoFsync trades durability for speed. Tests only.
	UnsafeNoFsync bool
	StartTimeout  time.Duration // default 60 s
}

// Embedded is a running embedded etcd member.
type Embedded struct {
	etcd      *embed.Etcd
	closeOnce sync.Once
}

// StartEmbedded starts a member and waits until it is ready to serve.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	ec := embed.NewConfig()
	ec.Dir = cfg.Dir
	ec.Name = cfg.Name
	if ec.Name == "" {
		ec.Name = "tocsin"
	}
	clientURL, peerURL := cfg.ClientURL, cfg.PeerURL
	if clientURL == "" {
		clientURL = "http://127.0.0.1:0"
	}
	if peerURL == "" {
		peerURL = "http://127.0.0.1:0"
	}
	cu, err := url.Parse(clientURL)
	if err != nil {
		return nil, fmt.Errorf("etcd client url: %w", err)
	}
	pu, err := url.Parse(peerURL)
	if err != nil {
		return nil, fmt.Errorf("etcd peer url: %w", err)
	}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	if cfg.InitialCluster != "" {
		ec.InitialCluster = cfg.InitialCluster
	} else {
		ec.InitialCluster = ec.Name + "=" + pu.String()
	}
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	// Without compaction the history grows until the quota makes etcd
	// read-only; keep an hour of it.
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "1h"
	ec.LogLevel = "error"
	ec.LogOutputs = []string{filepath.Join(cfg.Dir, "etcd.log")}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, errors.New("embedded etcd: not ready in time")
	}
	return &Embedded{etcd: e}, nil
}

// Endpoints returns the client URLs the member listens on.
func (m *Embedded) Endpoints() []string {
	var out []string
	for _, l := range m.etcd.Clients {
		out = append(out, "http://"+l.Addr().String())
	}
	return out
}

// PeerURL returns the peer URL the member listens on.
func (m *Embedded) PeerURL() string {
	return "http://" + m.etcd.Peers[0].Listener.Addr().String()
}

// Close stops the member. It is safe to call more than once (embed's own
// Close panics on a second call).
func (m *Embedded) Close() {
	m.closeOnce.Do(m.etcd.Close)
}

// Err reports the member's fatal errors: once it sends, the member no
// longer serves.
func (m *Embedded) Err() <-chan error { return m.etcd.Err() }
