package directory

import (
	"reflect"
	"slices"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestDemo(t *testing.T) {
	officials := Demo()
	var mayors, deputies, landlines int
	ids := map[string]bool{}
	numbers := map[string]string{}
	names := map[string]string{}
	byID := map[string]tocsin.Official{}
	for _, o := range officials {
		byID[o.ID] = o
	}
	for _, o := range officials {
		if ids[o.ID] || !tocsin.ValidID(o.ID) {
			t.Errorf("id %q duplicate or invalid", o.ID)
		}
		ids[o.ID] = true
		if other, dup := names[o.Name]; dup {
			t.Errorf("%s and %s are both named %q", other, o.ID, o.Name)
		}
		names[o.Name] = o.ID
		c, ok := CommuneByINSEE(o.Commune)
		if !ok || o.CommuneName != c.Name || o.Arrondissement != c.Arrondissement || o.Lat != c.Lat || o.Lon != c.Lon {
			t.Errorf("%s: commune fields do not match the reference: %+v", o.ID, o)
		}
		switch o.Role {
		case "maire":
			mayors++
			if o.ID != o.Commune+"-maire" {
				t.Errorf("mayor id %q, want %s-maire", o.ID, o.Commune)
			}
			wantDeputy := c.Population > 10000
			if got := slices.Equal(o.Deputies, []string{o.Commune + "-adjoint1"}); got != wantDeputy {
				t.Errorf("%s (population %d): deputies %q", o.ID, c.Population, o.Deputies)
			}
		case "adjoint":
			deputies++
			if o.ID != o.Commune+"-adjoint1" || byID[o.Commune+"-maire"].Deputies[0] != o.ID {
				t.Errorf("deputy %q not listed by its mayor", o.ID)
			}
		default:
			t.Errorf("%s: role %q", o.ID, o.Role)
		}
		if len(o.NumbersOf(tocsin.Mobile)) != 1 {
			t.Errorf("%s: %d mobiles, want 1", o.ID, len(o.NumbersOf(tocsin.Mobile)))
		}
		landlines += len(o.NumbersOf(tocsin.Landline))
		for _, n := range o.Numbers {
			if other, dup := numbers[n.E164]; dup {
				t.Errorf("%s and %s share %s", other, o.ID, n.E164)
			}
			numbers[n.E164] = o.ID
			if !IsFiction(n.E164) {
				t.Errorf("%s: %s is not a fiction number", o.ID, n.E164)
			}
			parsed, err := ParseNumber(FormatNumber(n.E164))
			if err != nil || parsed != n {
				t.Errorf("%s: ParseNumber(%s) = %v, %v", o.ID, n.E164, parsed, err)
			}
		}
	}
	if mayors != 707 {
		t.Errorf("%d mayors, want one per commune (707)", mayors)
	}
	if deputies != 21 {
		t.Errorf("%d deputies, want 21 (communes above 10,000 inhabitants)", deputies)
	}
	if landlines < 707/4 || landlines > 707/2 {
		t.Errorf("%d town-hall landlines, want about a third of 707", landlines)
	}
	if !reflect.DeepEqual(officials, Demo()) {
		t.Error("Demo() differs from one call to the next")
	}
}

func TestDemoOperators(t *testing.T) {
	official := map[string]bool{}
	for _, o := range Demo() {
		for _, n := range o.Numbers {
			official[n.E164] = true
		}
	}
	ops := DemoOperators()
	available := 0
	for _, o := range ops {
		if !tocsin.ValidID(o.ID) || len(o.Numbers) != 1 || !IsFiction(o.Numbers[0].E164) || official[o.Numbers[0].E164] {
			t.Errorf("demo operator %+v: want a valid id and one fiction mobile no official has", o)
		}
		if o.Available {
			available++
		}
	}
	if len(ops) != 8 || available != 7 {
		t.Errorf("%d demo operators, %d available; want 8, 7", len(ops), available)
	}
}
