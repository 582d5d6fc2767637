package tocsin

import (
	"encoding/json"
	"fmt"
	"time"
)

// Durations are written "10m0s" in JSON, as in the playbooks, rather than
// in nanoseconds.

type rungJSON struct {
	After   string   `json:"after"`
	Channel Channel  `json:"channel"`
	Targets []Target `json:"targets"`
	Retries int      `json:"retries,omitempty"`
}

// MarshalJSON writes After as a duration string.
func (r Rung) MarshalJSON() ([]byte, error) {
	return json.Marshal(rungJSON{After: r.After.String(), Channel: r.Channel, Targets: r.Targets, Retries: r.Retries})
}

// UnmarshalJSON reads After as a duration string.
func (r *Rung) UnmarshalJSON(b []byte) error {
	var j rungJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.After)
	if err != nil {
		return fmt.Errorf("rung after: %w", err)
	}
	*r = Rung{After: d, Channel: j.Channel, Targets: j.Targets, Retries: j.Retries}
	return nil
}

// MarshalJSON writes Deadline as a duration string.
func (p Playbook) MarshalJSON() ([]byte, error) {
	type plain Playbook
	return json.Marshal(struct {
		plain
		Deadline string `json:"deadline"`
	}{plain(p), p.Deadline.String()})
}
