// Package web serves Tocsin over HTTP: the JSON API under /api/v1, Twilio's
// webhooks under /twilio, and the health endpoints. Every replica serves
// all of it from etcd.
//
// Webhooks are checked against X-Twilio-Signature before anything is
// parsed or changed: the raw body is read once, its signature verified
// against the configured public URL, and only then applied.
package web
