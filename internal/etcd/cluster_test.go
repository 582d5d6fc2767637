package etcd_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func clusterStore(t *testing.T, c *etcd.Cluster) *etcd.Store {
	t.Helper()
	cli, err := etcd.Connect(etcd.ClientConfig{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return etcd.NewStore(cli, "/test/", nil)
}

func TestOneMemberOfThreeDownChangesNothing(t *testing.T) {
	c := testingutil.MustStartCluster(t, 3)
	s := clusterStore(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := s.Campaign(ctx, "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(0) // the client's first endpoint, perhaps etcd's leader
	a, rs := testActivation(300)
	if err := l.Store.CreateActivation(ctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatalf("create with one member down: %v", err)
	}
	got, err := s.Recipients(ctx, a.ID)
	if err != nil || len(got) != 300 {
		t.Fatalf("recipients: got %d, %v; want 300", len(got), err)
	}
	select {
	case <-l.Done():
		t.Fatal("leadership lost although a quorum remained")
	default:
	}
}

func TestQuorumLostWritesNothingHalfAndResumes(t *testing.T) {
	c := testingutil.MustStartCluster(t, 3)
	s := clusterStore(t, c)
	ctx := context.Background()

	// Quorum goes while the recipients are being written.
	a, rs := testActivation(10000) // 200 batches
	w := s.Client().Watch(ctx, "/test/rcpt/", clientv3.WithPrefix())
	errc := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		errc <- s.CreateActivation(cctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated})
	}()
	<-w // the first batch is in
	stopped := make(chan struct{})
	go func() { c.Stop(1); close(stopped) }()
	c.Stop(2)
	<-stopped
	err := <-errc
	if err == nil {
		t.Fatal("create without quorum: got success, want an error")
	}
	if tocsin.ErrorCode(err) != tocsin.EUnavailable {
		t.Fatalf("create without quorum: got %v (code %s), want %s", err, tocsin.ErrorCode(err), tocsin.EUnavailable)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := s.Ping(pctx); err == nil {
		t.Fatal("ping without quorum: got nil, want an error")
	}
	cancel()

	testingutil.MustRestart(t, c, 1, 2)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for s.Ping(rctx) != nil && rctx.Err() == nil {
	}
	if _, err := s.Activation(rctx, a.ID); tocsin.ErrorCode(err) != tocsin.ENotFound {
		t.Fatalf("activation after a failed create: got %v, want not found", err)
	}
	open, err := s.OpenActivations(rctx)
	if err != nil || len(open) != 0 {
		t.Fatalf("open activations after a failed create: got %d, %v; want none", len(open), err)
	}
	// Work resumes: the same activation can now be created whole.
	if err := s.CreateActivation(rctx, a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatalf("create once quorum is back: %v", err)
	}
	got, err := s.Recipients(rctx, a.ID)
	if err != nil || len(got) != len(rs) {
		t.Fatalf("recipients: got %d, %v; want %d", len(got), err, len(rs))
	}
}
