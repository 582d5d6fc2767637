// Package web serves Tocsin over HTTP: the duty officer's console (HTML
// pages in French, their assets and a websocket), the JSON API under
// /api/v1, Twilio's webhooks under /twilio, and the health endpoints. Every
// replica serves all of it from etcd.
//
// Webhooks are checked against X-Twilio-Signature before anything is
// parsed or changed: the raw body is read once, its signature verified
// against the configured public URL, and only then applied.
//
// The console's invariants:
//   - Every page and API route names the roles it lets in; an auditor's
//     role lets in no state-changing route.
//   - Sessions live in etcd under the hash of their id, so every replica
//     knows them; a session ends at its expiry, at logout, or when the
//     user's password changes. Every state-changing form carries the
//     session's CSRF token.
//   - A password that asks for a second factor opens only a pending
//     session, good for the code's page for five minutes; the session
//     proper is a new one. A code's time step is recorded as used in the
//     user's record by compare-and-swap, so no code serves twice, on any
//     replica.
//   - A login through the identity provider is accepted only back in the
//     browser that started it (state in a cookie), once (the state is
//     taken from etcd in one delete), for the nonce it asked for, with the
//     PKCE verifier; its user's role comes from the provider's groups at
//     each login.
//   - The websocket is opened only with a session and from the console's
//     origin; its feed comes from an etcd watch (see hub.go), so no change
//     is missed whichever replica a page reaches.
//   - A page that filters officials holds them all, those left out
//     hidden, and shows the server's counts: an official who joins a filter
//     shows without a reload, and no count is made from what a page holds.
package web
