// Package totp computes and checks the one-time codes of authenticator
// applications (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the
// second factor of console passwords.
//
// What a caller can rely on:
//
//   - Match accepts a code of the current step or of the one before or
//     after (a phone's clock a little off, a code typed as it changes), and
//     returns which step it matched: the caller refuses a step not later
//     than the last one used, so that a code seen over a shoulder or in a
//     proxy's log cannot be used again.
//   - Codes are compared in constant time.
package totp
