// Package tocsin holds the nouns of the product — officials, playbooks,
// activations, recipients, attempts, events — with their validation and the
// error type users see. It imports only the standard library: storage,
// Twilio and HTTP live in their own packages and meet in internal/app.
package tocsin
