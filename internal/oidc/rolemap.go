package oidc

import (
	"fmt"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// RoleMap gives the Tocsin role of the provider's groups.
type RoleMap map[string]tocsin.Role

// ParseRoleMap reads "group=role,group=role": grp-cod=officer,
// grp-audit=auditor,grp-admin=admin. Roles are admin, officer and auditor.
func ParseRoleMap(s string) (RoleMap, error) {
	m := RoleMap{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		group, role, ok := strings.Cut(pair, "=")
		group, role = strings.TrimSpace(group), strings.TrimSpace(role)
		if !ok || group == "" {
			return nil, fmt.Errorf("role map: %q is not group=role", pair)
		}
		if !tocsin.Role(role).Valid() {
			return nil, fmt.Errorf("role map: %q: unknown role %q (admin, officer or auditor)", pair, role)
		}
		if prev, dup := m[group]; dup && prev != tocsin.Role(role) {
			return nil, fmt.Errorf("role map: group %q given twice (%s and %s)", group, prev, role)
		}
		m[group] = tocsin.Role(role)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("role map is empty: give at least one group=role")
	}
	return m, nil
}

// Role returns the widest role the groups give, "" when none is mapped.
func (m RoleMap) Role(groups []string) tocsin.Role {
	var best tocsin.Role
	for _, g := range groups {
		if r, ok := m[g]; ok {
			if best == "" || best.AtMost(r) == best && best != r {
				best = r
			}
		}
	}
	return best
}
