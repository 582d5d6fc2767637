package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// readyz returns /readyz's status.
func readyz(t *testing.T, a *app.App) int {
	t.Helper()
	resp, err := http.Get(a.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestQuorumLostRefusesActivationsThenResumes(t *testing.T) {
	t.Parallel()
	c := testingutil.MustStartCluster(t, 3)
	a := mustRunApp(t, app.Config{EtcdEndpoints: c.Endpoints(), NodeID: "a", DemoDirectory: true, RequestTimeout: 3 * time.Second, SMSRate: 1000})
	officer := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if got := readyz(t, a); got != http.StatusOK {
		t.Fatalf("readyz with the whole cluster: got %d, want 200", got)
	}
	c.Stop(1)
	c.Stop(2)

	if got := readyz(t, a); got != http.StatusServiceUnavailable {
		t.Fatalf("readyz without quorum: got %d, want 503", got)
	}
	start := time.Now()
	status, body := rawRequest(t, a, "POST", "/api/v1/activations", adminToken, "application/json", `{"playbook":"test-tous"}`)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("activation without quorum: got %d %s, want 503", status, body)
	}
	var e apiError
	json.Unmarshal([]byte(body), &e)
	if e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "etcd") {
		t.Fatalf("activation without quorum: got %s, want code unavailable and a message naming etcd", body)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("activation without quorum answered in %v, want under 20 s", took)
	}
	// The console too answers within its deadline, saying what is wrong.
	if status, page := officer.get("/"); status != http.StatusServiceUnavailable || !strings.Contains(page, "etcd") {
		t.Fatalf("console without quorum: got %d, want 503 naming etcd:\n%s", status, page)
	}

	testingutil.MustRestart(t, c, 1, 2)
	testingutil.Poll(t, 30*time.Second, 200*time.Millisecond, "readyz once quorum is back", func() bool { return readyz(t, a) == http.StatusOK })
	var list struct {
		Activations []json.RawMessage `json:"activations"`
	}
	if got := api(t, a, "GET", "/api/v1/activations", nil, &list); got != http.StatusOK || len(list.Activations) != 0 {
		t.Fatalf("activations after the refused one: got %d, %d activations; want 200 and none", got, len(list.Activations))
	}
	var v view
	if got := api(t, a, "POST", "/api/v1/activations", map[string]string{"playbook": "test-tous"}, &v); got != http.StatusCreated {
		t.Fatalf("activation once quorum is back: got %d, want 201", got)
	}
	waitFor(t, a, v.ID, 30*time.Second, "every official texted", func(v *view) bool {
		return v.Summary.Sent == v.Summary.Targeted && v.Summary.Targeted > 0
	})
}
