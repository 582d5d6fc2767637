package tocsin

import "time"

// A provider route is one way to Twilio: the primary account, or a
// secondary account or region that takes over when the primary fails.
const (
	PrimaryRoute   = "primary"
	SecondaryRoute = "secondary"
)

// RouteLabel names a route in French: « principale », « de secours ».
func RouteLabel(route string) string {
	if route == SecondaryRoute {
		return "de secours"
	}
	return "principale"
}

// RouteMode is how the route is chosen: automatically, or forced by the
// duty officer.
type RouteMode string

// Route modes.
const (
	RouteAuto      RouteMode = "auto"      // the secondary takes over when the primary fails
	RoutePrimary   RouteMode = "primary"   // the primary only, whatever it does
	RouteSecondary RouteMode = "secondary" // the secondary only
)

// RouteChoice is the duty officer's choice of route, who made it and when.
type RouteChoice struct {
	Mode RouteMode `json:"mode"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitzero"`
}
