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
}
