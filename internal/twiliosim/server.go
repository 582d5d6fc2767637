package twiliosim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a Simulator listening on a TCP address.
type Server struct {
	*Simulator
	ln     net.Listener
	srv    *http.Server
	served chan struct{}
	once   sync.Once
}

// Start checks cfg, listens on addr ("127.0.0.1:0" picks a free port) and
// serves a new Simulator there until Close.
func Start(addr string, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("twiliosim: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("twiliosim: listen: %w", err)
	}
	sim := New(cfg)
	s := &Server{
		Simulator: sim,
		ln:        ln,
		srv: &http.Server{
			Handler:           sim.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
		},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sim.log.Error("serve", "err", err)
		}
	}()
	sim.log.Info("listening", "url", s.URL())
	return s, nil
}

// URL returns the base URL clients send to instead of
// https://api.twilio.com, such as http://127.0.0.1:41234.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops listening, lets requests under way finish (for up to 5 s),
// then closes the Simulator: pending delays are dropped and callbacks being
// posted are waited for. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = s.srv.Shutdown(ctx); err != nil {
			err = s.srv.Close()
		}
		<-s.served
		s.Simulator.Close()
	})
	return err
}
