package twilio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
)

// maxResponseBody bounds what is read from one response: a page of
// messages is a few hundred kilobytes at most.
const maxResponseBody = 8 << 20

// exchange records what one request did on the wire, for classifying a
// failure that twilio-go reports without status or headers.
type exchange struct {
	// wrote is set once the request headers were written: from then on the
	// request may have reached Twilio. Set from the transport's writer
	// goroutine, hence atomic.
	wrote  atomic.Bool
	status int         // 0 until a response arrived
	header http.Header // of the response
}

// callTransport is the RoundTripper twilio-go gets for one call. It
// rewrites the SDK's fixed https://api.twilio.com to the configured API URL
// (next page URLs included, since the SDK builds them on the same host),
// cancels the request when the call's context ends, and reads the whole
// response so that the SDK, which leaves error bodies open, cannot leak a
// connection.
type callTransport struct {
	next http.RoundTripper
	api  *url.URL
	ctx  context.Context
	x    *exchange
}

// RoundTrip implements http.RoundTripper.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.x.wrote.Store(false)
	t.x.status, t.x.header = 0, nil

	// req's context carries http.Client's timeout; t.ctx is the caller's.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel)
	defer stop()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { t.x.wrote.Store(true) },
	})

	out := req.Clone(ctx)
	out.URL = rewriteURL(req.URL, t.api)
	out.Host = ""
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	t.x.status, t.x.header = resp.StatusCode, resp.Header
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponseBody {
		return nil, fmt.Errorf("response body over %d bytes", maxResponseBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// rewriteURL sends u to api's scheme and host, with api's path as a prefix.
// A path that already starts with the prefix is left as it is, so that a
// next page URI from a server that knows its own prefix is not prefixed
// twice (Twilio's paths all start with /2010-04-01 or another version).
func rewriteURL(u, api *url.URL) *url.URL {
	v := *u
	v.Scheme, v.Host, v.User = api.Scheme, api.Host, nil
	prefix := api.Path
	if prefix == "" || v.Path == prefix || strings.HasPrefix(v.Path, prefix+"/") {
		return &v
	}
	if v.RawPath != "" {
		v.RawPath = api.EscapedPath() + v.RawPath
	}
	v.Path = prefix + v.Path
	return &v
}
