package activation

import (
	"slices"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// An audience targets the officials a playbook matches, in the order of
// their ids whatever the directory's, with the deputies the directory
// holds; a creation goes on after the last official it wrote; counting
// and forecasting go through every recipient without keeping them.
func TestAnAudienceIsMadeAPartAtATime(t *testing.T) {
	mobile := func(n string) []tocsin.Number { return []tocsin.Number{{E164: n, Kind: tocsin.Mobile}} }
	directory := []tocsin.Official{ // not in the order of the ids
		{ID: "o3", Role: "maire", Numbers: mobile("+33600000003"), Deputies: []string{"a1", "gone"}},
		{ID: "a1", Role: "adjoint", Name: "Adjointe", Numbers: append(mobile("+33600000011"), tocsin.Number{E164: "+33200000011", Kind: tocsin.Landline})},
		{ID: "o1", Role: "maire", Numbers: mobile("+33600000001")},
		{ID: "o2", Role: "maire", Numbers: mobile("+33600000002"), Deputies: []string{"a1"}},
	}
	au := newAudience(&tocsin.Playbook{Audience: tocsin.Audience{Roles: []string{"maire"}}}, directory)
	if au.len() != 3 {
		t.Fatalf("%d officials targeted, want the 3 mayors", au.len())
	}
	rs := au.recipients(0, au.len())
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.Official.ID)
	}
	if !slices.Equal(ids, []string{"o1", "o2", "o3"}) {
		t.Errorf("recipients %v, want o1, o2, o3", ids)
	}
	if len(rs[0].Deputies) != 0 || len(rs[1].Deputies) != 1 || len(rs[2].Deputies) != 1 || rs[2].Deputies[0].Name != "Adjointe" || len(rs[2].Deputies[0].Numbers) != 2 {
		t.Errorf("deputies %+v, %+v, %+v; want none, then the adjointe with her two numbers twice (gone is not in the directory)", rs[0].Deputies, rs[1].Deputies, rs[2].Deputies)
	}
	for _, c := range []struct {
		last string
		want int
	}{{"", 0}, {"o1", 1}, {"o15", 1}, {"o25", 2}, {"o3", 3}} {
		if got := au.after(c.last); got != c.want {
			t.Errorf("after %q: %d, want %d", c.last, got, c.want)
		}
	}
	if got := au.recipients(au.after("o1"), au.len()); len(got) != 2 || got[0].Official.ID != "o2" {
		t.Errorf("the rest after o1: %d recipients from %s, want o2 and o3", len(got), got[0].Official.ID)
	}
	// 1 + (1 + 2) + (1 + 2): each official's own and their deputies'.
	if got := au.numbers(); got != 7 {
		t.Errorf("numbers that may answer: %d, want 7", got)
	}
	whole := tocsin.ForecastLadder(tocsin.DefaultLadder, rs, 3600e9, tocsin.Rates{SMSPerSecond: 1, CallsPerSecond: 1})
	each := tocsin.ForecastLadderOf(tocsin.DefaultLadder, au.each, 3600e9, tocsin.Rates{SMSPerSecond: 1, CallsPerSecond: 1})
	if !slices.Equal(whole.Rungs, each.Rungs) {
		t.Errorf("forecast through the audience %+v, want as over its recipients %+v", each.Rungs, whole.Rungs)
	}
}
