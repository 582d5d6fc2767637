package web

import (
	"context"
	"net/http"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Routes keeps the duty officer's choice of provider route and reads the
// route sends take.
type Routes interface {
	RouteChoice(ctx context.Context) (tocsin.RouteChoice, error)
	SetRouteChoice(ctx context.Context, c tocsin.RouteChoice, audit ...tocsin.AuditEntry) error
	// Pace is what the leader last published, the route sends take with it.
	Pace(ctx context.Context) (tocsin.Pace, error)
}

// routeAnswer is GET /api/v1/route.
type routeAnswer struct {
	Choice tocsin.RouteChoice `json:"choice"`
	// Active is the route sends take now, as the leader last said:
	// "primary" or "secondary"; empty when no leader said it lately.
	Active string `json:"active,omitempty"`
	// Secondary tells whether a secondary route is configured.
	Secondary bool `json:"secondary"`
}

func (s *Server) getRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.routeState(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) routeState(ctx context.Context) (routeAnswer, error) {
	var a routeAnswer
	var err error
	if a.Choice, err = s.cfg.Routes.RouteChoice(ctx); err != nil {
		return a, err
	}
	p, err := s.cfg.Routes.Pace(ctx)
	if err != nil {
		return a, err
	}
	if p.Fresh(s.now()) {
		a.Active = p.Route
	}
	a.Secondary = s.cfg.SecondaryRoute
	return a, nil
}

// putRoute: PUT /api/v1/route {"mode": "auto" | "primary" | "secondary"},
// for those who may activate. The choice holds on every replica within
// seconds, and is audited.
func (s *Server) putRoute(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Mode tocsin.RouteMode `json:"mode"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.setRoute(r.Context(), userFrom(r.Context()).Name, req.Mode); err != nil {
		return err
	}
	a, err := s.routeState(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// setRoute records the choice of route mode by a user.
func (s *Server) setRoute(ctx context.Context, by string, mode tocsin.RouteMode) error {
	var what string
	switch mode {
	case tocsin.RouteAuto:
		what = "automatique (la route de secours prend le relais si la principale échoue)"
	case tocsin.RoutePrimary:
		what = "route principale imposée"
	case tocsin.RouteSecondary:
		what = "route de secours imposée"
	default:
		return tocsin.FieldErrorf(tocsin.EInvalid, "mode", "mode de route %q inconnu : auto, primary ou secondary", mode)
	}
	if mode == tocsin.RouteSecondary && !s.cfg.SecondaryRoute {
		return tocsin.FieldErrorf(tocsin.EInvalid, "mode", "aucune route de secours n'est configurée (--twilio-secondary-account-sid)")
	}
	c := tocsin.RouteChoice{Mode: mode, By: by, At: s.now().UTC()}
	if err := s.cfg.Routes.SetRouteChoice(ctx, c, auditEntry(by, tocsin.AuditRoute, "choix de la route d'envoi : "+what)); err != nil {
		return err
	}
	s.log.Info("route choice", "mode", mode, "by", by)
	s.drainAudit(ctx)
	return nil
}

// routePanel is the dashboard's view of the provider routes, shown when a
// secondary route is configured.
type routePanel struct {
	Active  string // "principale", "de secours", or "" when no leader said lately
	Choice  tocsin.RouteChoice
	ByAt    string // who chose, when (Paris)
	Options []routeOption
}

type routeOption struct {
	Value   tocsin.RouteMode
	Label   string
	Current bool
}

// routePanel reads the routes for the dashboard; nil without a secondary.
func (c *console) routePanel(ctx context.Context) (*routePanel, error) {
	if c.cfg.Routes == nil || !c.cfg.SecondaryRoute {
		return nil, nil
	}
	st, err := c.srv.routeState(ctx)
	if err != nil {
		return nil, err
	}
	p := &routePanel{Choice: st.Choice}
	switch st.Active {
	case tocsin.PrimaryRoute, tocsin.SecondaryRoute:
		p.Active = tocsin.RouteLabel(st.Active)
	}
	if !st.Choice.At.IsZero() {
		p.ByAt = st.Choice.By + ", " + tocsin.ParisTime(st.Choice.At)
	}
	for _, o := range []routeOption{{tocsin.RouteAuto, "Automatique : la route de secours prend le relais si la principale échoue", false},
		{tocsin.RoutePrimary, "Route principale seulement", false}, {tocsin.RouteSecondary, "Route de secours seulement", false}} {
		o.Current = o.Value == st.Choice.Mode
		p.Options = append(p.Options, o)
	}
	return p, nil
}

// chooseRoute: POST /route from the dashboard's form.
func (c *console) chooseRoute(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if c.cfg.Routes == nil {
		return tocsin.Errorf(tocsin.ENotFound, "pas de choix de route")
	}
	if err := c.srv.setRoute(r.Context(), userFrom(r.Context()).Name, tocsin.RouteMode(r.PostFormValue("mode"))); err != nil {
		return err
	}
	http.Redirect(w, r, "/#route", http.StatusSeeOther)
	return nil
}
