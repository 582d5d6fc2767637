package etcd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A token past its expiry is refused, saying so; a narrowed token acts
// with its narrower role; the first administrator's token, stored before
// personal tokens, still works.
func TestTokensExpireAndNarrow(t *testing.T) {
	s := testingutil.MustStore(t)
	ctx := context.Background()
	if err := s.CreateUserWithToken(ctx, tocsin.User{Name: "admin", Role: tocsin.RoleAdmin}, "ancien-jeton"); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := s.CreateToken(ctx, tocsin.APIToken{ID: "tk-1", Name: "vieux", User: "admin", ExpiresAt: &past}, "expire"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, tocsin.APIToken{ID: "tk-2", Name: "lecture", User: "admin", Role: tocsin.RoleAuditor}, "lecture"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, "expire"); tocsin.ErrorCode(err) != tocsin.EUnauthorized || !strings.Contains(tocsin.ErrorMessage(err), "expiré") {
		t.Errorf("expired token: %v, want 401 saying expired", err)
	}
	if u, err := s.UserByToken(ctx, "lecture"); err != nil || u.Role != tocsin.RoleAuditor {
		t.Errorf("narrowed token: %+v, %v; want admin as auditor", u, err)
	}
	if u, err := s.UserByToken(ctx, "ancien-jeton"); err != nil || u.Role != tocsin.RoleAdmin {
		t.Errorf("first administrator's token: %+v, %v", u, err)
	}
	if err := s.CreateToken(ctx, tocsin.APIToken{ID: "tk-3", User: "personne"}, "orphelin"); tocsin.ErrorCode(err) != tocsin.ENotFound {
		t.Errorf("token for an unknown user: %v, want ENotFound", err)
	}
}
