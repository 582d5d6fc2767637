package tocsin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRungJSONRoundTrip(t *testing.T) {
	in := []Rung{{After: 10 * time.Minute, Channel: Voice, Targets: []Target{TargetMobile, TargetLandline}, Retries: 1}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"after":"10m0s"`) {
		t.Fatalf("got %s, want after as 10m0s", b)
	}
	var out []Rung
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out[0].After != in[0].After || out[0].Channel != Voice || len(out[0].Targets) != 2 {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
	pb, _ := json.Marshal(Playbook{ID: "x", Deadline: time.Hour})
	if !strings.Contains(string(pb), `"deadline":"1h0m0s"`) {
		t.Fatalf("playbook: got %s, want deadline 1h0m0s", pb)
	}
	// A playbook is kept with a creation in progress, and read back.
	in2 := Playbook{ID: "x", Deadline: 90 * time.Minute, Ladder: in, Audience: Audience{Communes: []string{"76217"}}, Message: "Alerte"}
	b, _ = json.Marshal(in2)
	var out2 Playbook
	if err := json.Unmarshal(b, &out2); err != nil {
		t.Fatal(err)
	}
	if out2.Deadline != in2.Deadline || out2.Message != in2.Message || len(out2.Ladder) != 1 || out2.Audience.Communes[0] != "76217" {
		t.Fatalf("playbook round trip: got %+v, want %+v", out2, in2)
	}
}
