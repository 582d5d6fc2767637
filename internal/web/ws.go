package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// closeReason says why the server ends a websocket; the page acts on the
// close code.
type closeReason int

const (
	closeGoingAway closeReason = iota // the replica stops: reconnect, elsewhere if need be
	closeTooSlow                      // the client fell behind: reconnect and catch up
	closeReload                       // the history needed to catch up is gone: reload the page
	closeSession                      // the session ended: log in again
)

// Close codes in the range applications may use (4000-4999).
var closeCodes = map[closeReason]struct {
	code int
	text string
}{
	closeGoingAway: {websocket.CloseGoingAway, "arrêt du serveur"},
	closeTooSlow:   {4002, "connexion trop lente"},
	closeReload:    {4001, "rechargez la page"},
	closeSession:   {4003, "session terminée"},
}

// client is one websocket connection. Only its writer goroutine writes to
// the connection.
type client struct {
	topic   string
	user    string
	session string
	send    chan []byte

	// Guarded by the hub's mutex.
	catchingUp bool
	pending    [][]byte

	once   sync.Once
	done   chan struct{}
	reason closeReason
}

func (c *client) close(why closeReason) {
	c.once.Do(func() {
		c.reason = why
		close(c.done)
	})
}

// push queues data for the client, waiting at most timeout: only the
// client's own goroutines call it, never the hub.
func (c *client) push(data []byte, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c.send <- data:
		return nil
	case <-c.done:
		return errors.New("client gone")
	case <-t.C:
		c.close(closeTooSlow)
		return errors.New("client too slow")
	}
}

// websocket serves the live feed to a logged-in user, from a page of the
// console's own origin. The session is checked before the upgrade, and
// again at every ping.
//
// Query: activation=<id> follows one activation (default: the dashboard,
// every activation's counters); depuis=<revision> is the last revision the
// page has seen.
func (c *console) websocket(w http.ResponseWriter, r *http.Request) {
	sess, err := c.loadSession(r)
	if err != nil {
		c.srv.log.Error("websocket: session", "err", err)
		http.Error(w, "service indisponible", http.StatusServiceUnavailable)
		return
	}
	if sess == nil {
		http.Error(w, "session requise : connectez-vous", http.StatusUnauthorized)
		return
	}
	// The upgrader's own check lets a request without Origin through and
	// trusts Host: a browser always sends Origin on a websocket, so a
	// request without one, or from another origin, is refused here.
	if !c.allowedOrigin(r.Header.Get("Origin")) {
		c.srv.log.Warn("websocket refused: origin", "origin", r.Header.Get("Origin"), "user", sess.User)
		c.srv.recordRefusal(r, sess.User, tocsin.Errorf(tocsin.EForbidden, "suivi en direct ouvert depuis une autre origine (%q)", r.Header.Get("Origin")))
		http.Error(w, "origine refusée", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	topic := q.Get("activation")
	if topic == "" {
		topic = dashboardTopic
	} else if !tocsin.ValidID(topic) {
		http.Error(w, "activation invalide", http.StatusBadRequest)
		return
	}
	since, _ := strconv.ParseInt(q.Get("depuis"), 10, 64)
	since = max(since, 0)

	up := websocket.Upgrader{
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		CheckOrigin:     func(r *http.Request) bool { return c.allowedOrigin(r.Header.Get("Origin")) },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	h := c.hub
	cl := &client{topic: topic, user: sess.User, session: sess.id, send: make(chan []byte, h.cfg.Buffer), done: make(chan struct{})}
	upto, ok := h.register(cl, since)
	if !ok {
		cl.close(closeGoingAway)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writeLoop(ctx, conn, cl)
	}()
	if ok && cl.catchingUp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.catchUp(ctx, cl, since, upto); err != nil {
				why := closeTooSlow
				if errors.Is(err, ErrCompacted) {
					why = closeReload
				}
				h.mu.Lock()
				h.dropLocked(cl, why)
				h.mu.Unlock()
				cl.close(why)
			}
		}()
	}
	c.readLoop(conn, cl)
	h.unregister(cl)
	cl.close(closeGoingAway)
	cancel()
	wg.Wait()
	if why := cl.reason.label(); why != "" {
		c.cfg.Observer.LiveDropped(why)
	}
}

// readLoop reads until the connection fails, so that pongs and the
// client's close are seen. The page sends nothing else.
func (c *console) readLoop(conn *websocket.Conn, cl *client) {
	wait := 2*c.hub.cfg.PingEvery + 5*time.Second
	conn.SetReadLimit(1024)
	conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wait)) })
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
		select {
		case <-cl.done:
			return
		default:
		}
	}
}

// writeLoop is the connection's only writer: queued messages, one JSON
// per frame, pings, and the close frame that says why the server ends it.
func (c *console) writeLoop(ctx context.Context, conn *websocket.Conn, cl *client) {
	h := c.hub
	ping := time.NewTicker(h.cfg.PingEvery)
	defer ping.Stop()
	defer conn.Close()
	for {
		select {
		case data := <-cl.send:
			conn.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, data); err != nil {
				cl.close(closeGoingAway)
				return
			}
		case <-ping.C:
			if !c.sessionValid(ctx, cl.session) {
				cl.close(closeSession)
				continue
			}
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteTimeout)); err != nil {
				cl.close(closeGoingAway)
				return
			}
		case <-cl.done:
			cc := closeCodes[cl.reason]
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(cc.code, cc.text),
				time.Now().Add(time.Second))
			return
		}
	}
}

// sessionValid reports whether a websocket's session still holds: a
// logout, an expiry or a password change ends the live feed too.
func (c *console) sessionValid(ctx context.Context, id string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: c.cookieName("tocsin_session"), Value: id})
	s, err := c.loadSession(r)
	if err != nil {
		return true // the store is unreachable: keep the feed, check again at the next ping
	}
	return s != nil
}
