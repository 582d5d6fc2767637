package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/etcd"
)

// Profiles are served on their own address when asked, and never on the
// address of the console, the API and the webhooks.
func TestProfilesAreServedOnTheirOwnAddressOnly(t *testing.T) {
	t.Parallel()
	ports, err := etcd.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	debug := fmt.Sprintf("127.0.0.1:%d", ports[0])
	a := mustRunApp(t, app.Config{DebugListen: debug})

	resp, err := http.Get("http://" + debug + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("heap profile on the debug address: %d %.80q", resp.StatusCode, body)
	}

	resp, err = http.Get(a.URL() + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("the public address serves profiles")
	}
}
