package web

import (
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{4,14}$`)

// templateFuncs are the helpers the console's templates may call.
var templateFuncs = template.FuncMap{
	// tel is a link that dials a number: html/template lets only http,
	// https and mailto URLs through on its own.
	"tel": func(number string) template.URL {
		if !e164.MatchString(number) {
			return "#"
		}
		return template.URL("tel:" + number)
	},
	"keep":        func(filter string, w row) bool { return keep(filter, &w) },
	"actionLabel": actionLabel,
	"paris": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return tocsin.ParisTime(*t)
	},
	"parisTime": tocsin.ParisTime,
	// monthLabel writes a month "2026-11" as "novembre 2026".
	"monthLabel": func(s string) string {
		m, err := indicator.ParseMonth(s)
		if err != nil {
			return s
		}
		return m.Label()
	},
	// seconds writes a duration given in seconds the French way: "1 h 05".
	"seconds": func(s float64) string { return tocsin.FormatDuration(time.Duration(s * float64(time.Second))) },
	"back": func(r *http.Request) string {
		if r == nil {
			return "/"
		}
		return backLink(r)
	},
}

// parsePages parses every page with the layout and the shared pieces. The
// templates are in the binary: a parse error is a programming error, found
// by the tests before any user sees it.
func parsePages() map[string]*template.Template {
	shared := []string{"console/templates/layout.html", "console/templates/counters.html"}
	entries, err := templateFS.ReadDir("console/templates")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" || name == "counters" {
			continue
		}
		files := append(append([]string{}, shared...), "console/templates/"+e.Name())
		pages[name] = template.Must(template.New(name).Funcs(templateFuncs).ParseFS(templateFS, files...))
	}
	return pages
}
