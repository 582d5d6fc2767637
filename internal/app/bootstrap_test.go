package app_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
)

// Three replicas started at once on an empty store, each asked to load
// the demo directory: all of them start, and the directory is loaded once.
func TestReplicasStartedTogetherOnAnEmptyStoreAllStart(t *testing.T) {
	t.Parallel()
	m := testingutil.MustStartEtcd(t)
	var wg sync.WaitGroup
	apps := make([]*app.App, 3)
	errs := make([]error, 3)
	for i := range apps {
		wg.Go(func() {
			a, err := app.New(app.Config{EtcdEndpoints: m.Endpoints(), NodeID: string(rune('a' + i)), DemoDirectory: true,
				Listen: "127.0.0.1:0", Simulator: true, AdminToken: adminToken, LeaseTTL: 2, PlaybooksDir: "../../playbooks", Out: io.Discard})
			if err == nil {
				err = a.Open(context.Background())
			}
			apps[i], errs[i] = a, err
		})
	}
	wg.Wait()
	for i, a := range apps {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		} else {
			t.Cleanup(func() { a.Close() })
		}
	}
	if t.Failed() {
		return
	}
	os, err := apps[0].Store().Officials(t.Context())
	if err != nil || len(os) == 0 {
		t.Fatalf("directory after three starts: %d officials, %v; want the demo directory", len(os), err)
	}
}
