package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/testingutil"
)

// stuckInbound records statuses only once released, like a store call
// that has not returned yet, and counts how many it holds at once.
type stuckInbound struct {
	Inbound
	release chan struct{}
	mu      sync.Mutex
	now     int
	most    int
}

func (s *stuckInbound) RecordStatus(context.Context, activation.AttemptRef, activation.StatusReport) error {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	<-s.release
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return nil
}

func (s *stuckInbound) inProgress() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Past so many webhooks in progress, the others wait for their turn
// within their deadline instead of all pressing on etcd at once; one that
// does not get its turn in time answers 503, counted as busy.
func TestWebhooksBeyondTheLimitWaitForTheirTurn(t *testing.T) {
	inbound := &stuckInbound{release: make(chan struct{})}
	results := make(chan WebhookResult, 16)
	srv := NewServer(Config{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		ValidSignature:     func(string, []byte, string) bool { return true },
		Inbound:            inbound,
		WebhookConcurrency: 2,
		WebhookTimeout:     300 * time.Millisecond,
		Observer:           resultObserver{results: results},
	})
	post := func() int {
		form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
		req := httptest.NewRequest("POST", "/twilio/sms/status?a=act&o=maire&t=r0-1", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", "signed")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w.Code
	}
	// Two are handled and stay at the store; three more wait for their
	// turn, and are turned away busy when their deadline passes.
	codes := make(chan int, 5)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { codes <- post() })
	}
	testingutil.Eventually(t, 5*time.Second, "two webhooks at the store", func() bool { return inbound.inProgress() == 2 })
	var waiting sync.WaitGroup
	for range 3 {
		waiting.Go(func() {
			if code := post(); code != http.StatusServiceUnavailable {
				t.Errorf("webhook beyond the limit answered %d; want 503", code)
			}
		})
	}
	waiting.Wait()
	close(inbound.release)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusNoContent {
			t.Errorf("webhook handled answered %d once the store returned; want 204", code)
		}
	}
	if inbound.most != 2 {
		t.Errorf("%d webhooks at the store at once; want at most 2", inbound.most)
	}
	// And the slots are given back.
	if code := post(); code != http.StatusNoContent {
		t.Errorf("webhook after the others: %d; want 204", code)
	}
	close(results)
	count := map[WebhookResult]int{}
	for r := range results {
		count[r]++
	}
	if count[WebhookOK] != 3 || count[WebhookBusy] != 3 {
		t.Errorf("results %v; want 3 ok and 3 busy", count)
	}
}

// resultObserver sends each webhook's result on a channel.
type resultObserver struct {
	nopObserver
	results chan WebhookResult
}

func (o resultObserver) Webhook(_ string, r WebhookResult, _ time.Duration) { o.results <- r }
