package oidc

import (
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestRoleMapGivesTheWidestRoleOfTheMappedGroups(t *testing.T) {
	m, err := ParseRoleMap(" grp-cod=officer, grp-audit=auditor ,grp-admin=admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		groups []string
		want   tocsin.Role
	}{
		{nil, ""},
		{[]string{"grp-stagiaires"}, ""},
		{[]string{"grp-audit"}, tocsin.RoleAuditor},
		{[]string{"grp-audit", "grp-cod"}, tocsin.RoleOfficer},
		{[]string{"grp-cod", "grp-audit"}, tocsin.RoleOfficer},
		{[]string{"grp-admin", "grp-audit", "grp-cod"}, tocsin.RoleAdmin},
		{[]string{"GRP-COD"}, ""}, // groups are compared exactly
	} {
		if got := m.Role(c.groups); got != c.want {
			t.Errorf("Role(%q) = %q; want %q", c.groups, got, c.want)
		}
	}
}

func TestRoleMapRefusesWhatItCannotRead(t *testing.T) {
	for _, s := range []string{"", " , ", "grp-cod", "=officer", "grp-cod=chef", "grp-cod=officer,grp-cod=admin"} {
		if _, err := ParseRoleMap(s); err == nil {
			t.Errorf("ParseRoleMap(%q): no error; want one", s)
		}
	}
}
