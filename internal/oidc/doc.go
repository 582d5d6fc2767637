// Package oidc signs console users in through an OpenID Connect provider
// (ProConnect, Keycloak, any provider that publishes its discovery
// document), with go-oidc and x/oauth2.
//
// What a caller can rely on:
//
//   - The authorization request carries a PKCE challenge (S256), a state and
//     a nonce that the caller generates and keeps; Exchange sends the
//     verifier with the code and accepts the ID token only when its
//     signature, issuer, audience, expiry and nonce all check.
//   - The provider's discovery document is read at the first login, not at
//     start: a provider down when Tocsin starts delays nothing, and is
//     reported then as unavailable (503) with a French message.
//   - A user's Tocsin role comes from the groups claim through the role
//     map; an identity with no mapped group has an empty role, for the
//     caller to refuse. Several mapped groups give the widest role.
//   - Names always hold an « @ » (the e-mail, or the user name or subject at
//     the provider's host), so that they can never be those of local
//     accounts, whose names hold none.
//   - The client secret never appears in a log line, an error or the
//     printed form of any value of this package.
package oidc
