package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Config configures a Provider.
type Config struct {
	Issuer       string // the provider's issuer URL, where /.well-known/openid-configuration is
	ClientID     string
	ClientSecret string // never logged
	RedirectURL  string // Tocsin's callback, as registered at the provider
	// GroupsClaim names the ID token's claim that lists the user's groups;
	// default "groups".
	GroupsClaim string
	Roles       RoleMap
	// Scopes asked for; default openid, email, profile and groups.
	Scopes []string
	// HTTPClient reaches the provider; default one with a 10 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// DefaultScopes are asked for when Config.Scopes is empty.
var DefaultScopes = []string{gooidc.ScopeOpenID, "email", "profile", "groups"}

// Provider signs users in through one OpenID Connect provider.
type Provider struct {
	cfg  Config
	host string
	log  *slog.Logger

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// New checks cfg; the provider itself is reached at the first login.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("oidc issuer %q: an http(s) URL expected", cfg.Issuer)
	}
	switch {
	case cfg.ClientID == "":
		return nil, errors.New("oidc: the client id is required")
	case cfg.RedirectURL == "":
		return nil, errors.New("oidc: the redirect URL is required")
	case len(cfg.Roles) == 0:
		return nil, errors.New("oidc: the role map is required (group=role,…)")
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Provider{cfg: cfg, host: u.Hostname(), log: cfg.Logger.With("component", "oidc")}, nil
}

// String names the provider without its secret.
func (p *Provider) String() string { return "oidc provider " + p.cfg.Issuer }

// discover reads the provider's discovery document once it answers.
func (p *Provider) discover(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	prov, err := gooidc.NewProvider(gooidc.ClientContext(ctx, p.cfg.HTTPClient), p.cfg.Issuer)
	if err != nil {
		p.log.Warn("identity provider unreachable", "issuer", p.cfg.Issuer, "err", err)
		return nil, nil, tocsin.Errorf(tocsin.EUnavailable, "fournisseur d'identité injoignable (%s) : réessayez dans un instant", p.cfg.Issuer)
	}
	p.oauth = &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: prov.Endpoint(), Scopes: p.cfg.Scopes,
	}
	p.verifier = prov.VerifierContext(gooidc.ClientContext(context.Background(), p.cfg.HTTPClient), &gooidc.Config{ClientID: p.cfg.ClientID})
	return p.oauth, p.verifier, nil
}

// AuthCodeURL returns the provider's login page for one attempt: the
// caller keeps state, nonce and verifier for the callback.
func (p *Provider) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	oc, _, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return oc.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange trades the callback's code for a verified ID token and returns
// who it names. Identity.Role is "" when none of the user's groups is
// mapped. A code or token the provider or the checks refuse is an
// EUnauthorized error.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (tocsin.Identity, error) {
	oc, verify, err := p.discover(ctx)
	if err != nil {
		return tocsin.Identity{}, err
	}
	ctx = gooidc.ClientContext(ctx, p.cfg.HTTPClient)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_client" {
			p.log.Error("identity provider refused Tocsin's client credentials: check the client id and secret", "client_id", p.cfg.ClientID)
			return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnavailable, "le fournisseur d'identité refuse l'identifiant ou le secret du client de Tocsin : prévenez l'administrateur")
		}
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			p.log.Warn("code refused by the identity provider", "status", re.Response.StatusCode, "error", re.ErrorCode)
			return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnauthorized, "le fournisseur d'identité a refusé le code de connexion (déjà utilisé ou expiré) : recommencez")
		}
		p.log.Warn("identity provider token endpoint failed", "err", err)
		return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnavailable, "fournisseur d'identité injoignable : réessayez dans un instant")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnauthorized, "le fournisseur d'identité n'a pas donné de jeton d'identité")
	}
	idt, err := verify.Verify(ctx, raw)
	if err != nil {
		p.log.Warn("ID token refused", "err", err)
		return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton d'identité refusé (signature, émetteur, audience ou expiration) : recommencez")
	}
	if idt.Nonce != nonce {
		p.log.Warn("ID token refused: nonce does not match")
		return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton d'identité refusé : il ne répond pas à cette demande de connexion (nonce) ; recommencez")
	}
	return p.identity(idt)
}

// identity reads the claims Tocsin uses.
func (p *Provider) identity(idt *gooidc.IDToken) (tocsin.Identity, error) {
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton d'identité illisible")
	}
	str := func(name string) string {
		var s string
		json.Unmarshal(claims[name], &s)
		return strings.TrimSpace(s)
	}
	id := tocsin.Identity{Subject: idt.Subject}
	var verified *bool
	json.Unmarshal(claims["email_verified"], &verified)
	switch email := strings.ToLower(str("email")); {
	case email != "" && strings.Contains(email, "@") && (verified == nil || *verified):
		id.Name = email
	case str("preferred_username") != "":
		id.Name = strings.ToLower(str("preferred_username")) + "@" + p.host
	default:
		id.Name = idt.Subject + "@" + p.host
	}
	if len(id.Name) > 128 {
		return tocsin.Identity{}, tocsin.Errorf(tocsin.EUnauthorized, "identifiant donné par le fournisseur d'identité trop long (128 caractères au plus)")
	}
	id.Groups = groups(claims[p.cfg.GroupsClaim])
	id.Role = p.cfg.Roles.Role(id.Groups)
	return id, nil
}

// groups reads a groups claim: a list of strings, or one string.
func groups(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}
