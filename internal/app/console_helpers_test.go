package app_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/totp"
	"github.com/prefecture76/tocsin/internal/web"
)

// consolePassword is every console user's password in the tests.
const consolePassword = "mot-de-passe-de-test"

// mustCreateUser creates a console user with consolePassword.
func mustCreateUser(tb testing.TB, a *app.App, name string, role tocsin.Role) {
	tb.Helper()
	hash, err := web.HashPassword(consolePassword)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Store().CreateUser(tb.Context(), tocsin.User{Name: name, Role: role}, hash); err != nil {
		tb.Fatal(err)
	}
}

// browser is a console user's browser: a cookie jar, no redirects
// followed, and the session's CSRF token once logged in.
type browser struct {
	tb   testing.TB
	a    *app.App
	http *http.Client
	csrf string
}

func newBrowser(tb testing.TB, a *app.App) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{tb: tb, a: a, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// loginAs opens a browser logged in as name (created with role if role is
// not empty).
func loginAs(tb testing.TB, a *app.App, name string, role tocsin.Role) *browser {
	tb.Helper()
	if role != "" {
		mustCreateUser(tb, a, name, role)
	}
	b := newBrowser(tb, a)
	st, loc := b.login(name, consolePassword)
	if loc == enrolmentPath {
		// An administrator's first login asks for a second factor.
		_, st, loc = b.enrol(a.Now())
	}
	if st != http.StatusSeeOther || loc != "/" {
		tb.Fatalf("login %s: status %d to %q; want 303 to /", name, st, loc)
	}
	_, body := b.get("/")
	b.csrf = csrfOf(body)
	if b.csrf == "" {
		tb.Fatalf("no CSRF token on the dashboard of %s", name)
	}
	return b
}

// enrolmentPath is the page where a second factor is activated.
const enrolmentPath = "/connexion/double-authentification"

var secretField = regexp.MustCompile(`data-secret="([A-Z2-7]+)"`)

// enrol activates a second factor on the enrolment page, as an
// authenticator application would: it reads the secret shown and types
// its code at now. It returns the secret, and the status and redirect of
// the confirmation.
func (b *browser) enrol(now time.Time) (string, int, string) {
	b.tb.Helper()
	_, page := b.get(enrolmentPath)
	m := secretField.FindStringSubmatch(page)
	if m == nil {
		b.tb.Fatalf("no secret on the enrolment page:\n%s", page)
	}
	st, _, loc := b.post(enrolmentPath, url.Values{"csrf": {csrfOf(page)}, "code": {totpCode(b.tb, m[1], now)}})
	return m[1], st, loc
}

// totpCode is what an authenticator application shows at now.
func totpCode(tb testing.TB, secret string, now time.Time) string {
	tb.Helper()
	code, err := totp.Code(secret, totp.Step(now), totp.Digits)
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(html string) string {
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

// login fills the login form; it returns the status and the redirect.
func (b *browser) login(name, password string) (int, string) {
	b.tb.Helper()
	_, page := b.get("/connexion")
	st, _, loc := b.post("/connexion", url.Values{"csrf": {csrfOf(page)}, "identifiant": {name}, "motdepasse": {password}, "suivant": {"/"}})
	return st, loc
}

func (b *browser) do(req *http.Request) (int, string, string) {
	b.tb.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header.Get("Location")
}

// upload sends a file as the console's import forms do (same origin,
// the session's CSRF token).
func (b *browser) upload(path, filename, content string) (int, string, string) {
	b.tb.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("csrf", b.csrf)
	f, _ := w.CreateFormFile("fichier", filename)
	f.Write([]byte(content))
	w.Close()
	req, _ := http.NewRequest("POST", b.a.URL()+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", b.a.URL())
	return b.do(req)
}

func (b *browser) get(path string) (int, string) {
	b.tb.Helper()
	req, _ := http.NewRequest("GET", b.a.URL()+path, nil)
	st, body, _ := b.do(req)
	return st, body
}

// post sends a form as the console's own page would (same origin).
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.tb.Helper()
	req, _ := http.NewRequest("POST", b.a.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.a.URL())
	return b.do(req)
}

// postCSRF posts a form with the session's CSRF token.
func (b *browser) postCSRF(path string, form url.Values) (int, string, string) {
	b.tb.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.post(path, form)
}

// cookieHeader is the session cookie, for a websocket dial.
func (b *browser) cookieHeader() http.Header {
	u, _ := url.Parse(b.a.URL())
	h := http.Header{}
	for _, c := range b.http.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	return h
}
