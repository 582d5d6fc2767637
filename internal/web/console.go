package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The console's templates and assets are in the binary: nothing to build
// or install for its users.
var (
	//go:embed console/templates/*.html
	templateFS embed.FS
	//go:embed console/assets/dsfr console/assets/console.js console/assets/console.css
	assetFS embed.FS
)

// console serves the duty officer's web pages and their websocket.
type console struct {
	cfg        *Config
	srv        *Server
	pages      map[string]*template.Template
	hub        *hub
	secure     bool            // served over TLS: Secure cookies, HSTS
	origins    map[string]bool // origins allowed to post forms and open the websocket
	sessionTTL time.Duration
	now        func() time.Time
	logins     chan struct{} // bounds the password hashes computed at once
}

func newConsole(s *Server) *console {
	cfg := &s.cfg
	c := &console{cfg: cfg, srv: s, origins: map[string]bool{}, sessionTTL: cfg.SessionTTL, now: cfg.Now,
		logins: make(chan struct{}, 4)}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sessionTTL <= 0 {
		c.sessionTTL = DefaultSessionTTL
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" {
		c.secure = u.Scheme == "https"
		c.origins[u.Scheme+"://"+u.Host] = true
		if u.Hostname() == "127.0.0.1" {
			// On one machine, localhost is the same console.
			c.origins[u.Scheme+"://localhost:"+u.Port()] = true
		}
	}
	for _, o := range cfg.AllowedOrigins {
		c.origins[strings.TrimSuffix(o, "/")] = true
	}
	c.pages = parsePages()
	c.hub = newHub(cfg, s.log)
	return c
}

// consoleRoutes registers the console's pages, its websocket, its static
// assets and the user administration API.
func (s *Server) consoleRoutes() {
	c := newConsole(s)
	s.console = c

	static, _ := fs.Sub(assetFS, "console/assets")
	files := http.FileServerFS(static)
	s.handle("GET /static/", public(http.StripPrefix("/static", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no folder listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))))

	s.handle("GET /connexion", c.public(c.loginPage))
	s.handle("POST /connexion", c.public(c.login))
	s.handle("POST /deconnexion", c.page(anyRole, c.logout))
	if c.cfg.TOTP != nil {
		// codePath and enrolmentPath
		s.handle("GET /connexion/code", c.secondFactorPage(pendingCode, false, c.codePage))
		s.handle("POST /connexion/code", c.secondFactorPage(pendingCode, false, c.checkCode))
		s.handle("GET /connexion/double-authentification", c.secondFactorPage(pendingEnrolment, true, c.enrolmentPage))
		s.handle("POST /connexion/double-authentification", c.secondFactorPage(pendingEnrolment, true, c.confirmEnrolment))
		s.handle("POST /api/v1/users/{name}/totp/reset", s.api(adminOnly, s.resetSecondFactor))
	}
	if c.cfg.SSO != nil {
		s.handle("GET /connexion/sso", c.public(c.ssoStart))
		s.handle("GET /connexion/sso/retour", c.public(c.ssoReturn))
	}

	s.handle("GET /{$}", c.page(anyRole, c.dashboard))
	s.handle("GET /activations", c.page(anyRole, c.activationList))
	s.handle("GET /activations/nouvelle", c.page(canActivate, c.newActivation))
	s.handle("POST /activations/apercu", c.page(canActivate, c.previewActivation))
	s.handle("POST /activations", c.page(canActivate, c.createActivation))
	s.handle("GET /activations/{id}", c.page(anyRole, c.activationPage))
	s.handle("POST /activations/{id}/confirmer/{official}", c.page(canActivate, c.confirm))
	s.handle("GET /activations/{id}/appeler", c.page(anyRole, c.callingPage))
	s.handle("GET /activations/{id}/appeler.csv", c.page(anyRole, c.callingCSV))
	s.handle("POST /activations/{id}/appeler/{official}/prendre", c.page(canActivate, c.claimForm))
	s.handle("POST /activations/{id}/appeler/{official}/liberer", c.page(canActivate, c.releaseForm))
	s.handle("POST /activations/{id}/appeler/{official}/echec", c.page(canActivate, c.callForm))
	s.handle("POST /activations/{id}/relancer/{official}", c.page(canActivate, c.rushForm))
	s.handle("POST /activations/{id}/relancer", c.page(canActivate, c.rushAllForm))
	s.handle("POST /activations/{id}/message", c.page(canActivate, c.messageForm))
	s.handle("POST /activations/{id}/clore", c.page(canActivate, c.close))
	s.handle("POST /activations/{id}/cip", c.page(canActivate, c.activateCIP))
	s.handle("POST /activations/{id}/retex", c.page(canActivate, c.retexForm))
	s.handle("POST /activations/{id}/reponses/{seq}/traitee", c.page(canActivate, c.handleReplyForm))
	s.handle("GET /annuaire", c.page(anyRole, c.directory))
	s.handle("POST /annuaire/import", c.page(adminOnly, c.importDirectory))
	s.handle("POST /annuaire/{official}/numeros", c.page(adminOnly, c.fixNumbersForm))
	s.handle("GET /scenarios", c.page(anyRole, c.playbooks))
	s.handle("GET /exercices", c.page(anyRole, c.exercisesPage))
	s.handle("GET /indicateurs", c.page(anyRole, c.indicatorsView))
	s.handle("GET /journal", c.page(anyRole, c.auditPage))
	s.handle("GET /journal/export", c.page(anyRole, c.auditExport))
	s.handle("GET /indicateurs/export", c.page(anyRole, c.indicatorsExport))
	s.handle("GET /indicateurs/historique", c.page(anyRole, c.historyExport))
	s.handle("POST /route", c.page(canActivate, c.chooseRoute))
	if c.cfg.Tokens != nil {
		s.handle("GET /jetons", c.page(anyRole, c.tokensPage))
		s.handle("POST /jetons", c.page(anyRole, c.createTokenForm))
		s.handle("POST /jetons/{id}/revoquer", c.page(anyRole, c.revokeTokenForm))
	}
	s.handle("GET /ws", guarded{guard: "session", h: c.websocket})
	s.handle("/", c.public(c.notFound))

	s.handle("POST /api/v1/users", s.api(adminOnly, s.createUser))
	s.handle("POST /api/v1/users/{name}/password", s.api(adminOnly, s.setPassword))
}

// Run feeds the console's websocket clients from the store until ctx ends,
// then closes their connections.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.flushRefusals(ctx) })
	if s.console != nil {
		s.console.hub.run(ctx)
	}
	wg.Wait()
}

// LiveClients returns how many websocket clients the server feeds.
func (s *Server) LiveClients() int {
	if s.console == nil {
		return 0
	}
	return s.console.hub.clientCount()
}

// allowedOrigin reports whether a browser origin is the console's own.
func (c *console) allowedOrigin(origin string) bool {
	return c.origins[strings.TrimSuffix(origin, "/")]
}

// originOK accepts a form post's Origin header when it is the console's,
// or when the browser withheld it ("null" under some referrer policies,
// absent from old browsers): the CSRF token is the check, the origin only
// adds to it.
func (c *console) originOK(origin string) bool {
	return origin == "" || origin == "null" || c.allowedOrigin(origin)
}

// consoleHeaders are the security headers of every console page: no
// inline script or style, no framing, no referrer, nothing cached.
func (c *console) consoleHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'")
	// Same-origin referrers let the browser send the Origin header on the
	// console's own forms; nothing leaves for other sites.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("Cache-Control", "no-store")
	if c.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// pageData is what every page template receives.
type pageData struct {
	Title   string
	Nav     string // the navigation entry to mark current
	User    *session
	CSRF    string
	Flash   string // a success message carried by a redirect
	Live    string // the websocket subscription: "", "tableau" or an activation id
	Rev     int64  // the store revision the page was read at
	Body    any
	Request *http.Request
}

// CanActivate reports whether the user may start, confirm and close
// activations.
func (p *pageData) CanActivate() bool { return p.User != nil && p.User.role.CanActivate() }

// IsAdmin reports whether the user is an administrator.
func (p *pageData) IsAdmin() bool { return p.User != nil && p.User.role == tocsin.RoleAdmin }

// RoleLabel names the user's role in French.
func (p *pageData) RoleLabel() string {
	if p.User == nil {
		return ""
	}
	return roleLabel(p.User.role)
}

func roleLabel(r tocsin.Role) string {
	switch r {
	case tocsin.RoleAdmin:
		return "administrateur"
	case tocsin.RoleOfficer:
		return "cadre de permanence"
	case tocsin.RoleAuditor:
		return "auditeur"
	}
	return string(r)
}

type pageHandler func(w http.ResponseWriter, r *http.Request, p *pageData) error

// maxForm bounds a console form; the directory import has its own bound.
const maxForm = 64 << 10

// page serves a page to a logged-in user whose role allowed accepts. A
// visitor without a session is sent to the login page; any other method
// than GET must carry the session's CSRF token.
func (c *console) page(allowed rolePolicy, h pageHandler) guarded {
	return guarded{guard: "page", policy: allowed.name, h: func(w http.ResponseWriter, r *http.Request) {
		c.consoleHeaders(w)
		r, cancel := c.srv.bounded(r)
		defer cancel()
		sess, err := c.loadSession(r)
		if err != nil {
			c.fail(w, r, &pageData{Request: r}, err)
			return
		}
		if sess == nil {
			target := "/connexion"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?" + url.Values{"suivant": {r.URL.RequestURI()}}.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		p := &pageData{User: sess, CSRF: sess.CSRF, Request: r}
		if !allowed.allow(sess.role) {
			c.fail(w, r, p, tocsin.Errorf(tocsin.EForbidden, "votre rôle (%s) ne permet pas cette action", roleLabel(sess.role)))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			limit := int64(maxForm)
			if r.URL.Path == "/annuaire/import" || r.URL.Path == cipImportPath {
				limit = maxCSV + 64<<10
			}
			if err := parseForm(w, r, limit); err != nil {
				c.fail(w, r, p, err)
				return
			}
			if err := c.checkCSRF(r, sess.CSRF); err != nil {
				c.srv.log.Warn("console request refused", "path", r.URL.Path, "user", sess.User, "err", err)
				c.fail(w, r, p, err)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), userKey, sess.user()))
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	}}
}

// public serves a page that needs no session.
func (c *console) public(h pageHandler) guarded {
	return guarded{guard: "public", h: func(w http.ResponseWriter, r *http.Request) {
		c.consoleHeaders(w)
		r, cancel := c.srv.bounded(r)
		defer cancel()
		p := &pageData{Request: r}
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	}}
}

// render writes a page, or the error page if the template fails: a page is
// rendered whole before any byte is sent.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *pageData) {
	t, ok := c.pages[name]
	if !ok {
		c.srv.log.Error("no such template", "name", name)
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.srv.log.Error("render page", "page", name, "err", err)
		if name != "erreur" {
			c.fail(w, r, p, err)
			return
		}
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is the body of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
	Details []string
}

// fail shows err on the error page with the status of its code. Internal
// errors are logged in full and shown as "erreur interne".
func (c *console) fail(w http.ResponseWriter, r *http.Request, p *pageData, err error) {
	code := tocsin.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == tocsin.EInternal || code == tocsin.EUnavailable {
		c.srv.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == tocsin.EForbidden {
		actor := ""
		if p.User != nil {
			actor = p.User.User
		}
		c.srv.recordRefusal(r, actor, err)
	}
	heading := map[int]string{
		http.StatusBadRequest: "Demande invalide", http.StatusUnauthorized: "Connexion requise",
		http.StatusForbidden: "Accès refusé", http.StatusNotFound: "Page introuvable",
		http.StatusConflict: "Action impossible", http.StatusTooManyRequests: "Trop de tentatives",
		http.StatusServiceUnavailable: "Service momentanément indisponible",
	}[status]
	if heading == "" {
		heading = "Erreur interne"
	}
	body := errorPage{Status: status, Heading: heading, Message: tocsin.ErrorMessage(err)}
	if l, ok := err.(*tocsin.ListError); ok {
		for _, e := range l.Errs {
			body.Details = append(body.Details, strings.TrimPrefix(e.Field+" : "+e.Message, " : "))
		}
	}
	p.Title, p.Body, p.Live = heading, body, ""
	c.render(w, r, status, "erreur", p)
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if sess, err := c.loadSession(r); err == nil && sess != nil {
		p.User, p.CSRF = sess, sess.CSRF
	}
	return tocsin.Errorf(tocsin.ENotFound, "aucune page à l'adresse %s", r.URL.Path)
}
