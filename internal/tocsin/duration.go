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

// UnmarshalJSON reads Deadline as a duration string.
func (p *Playbook) UnmarshalJSON(b []byte) error {
	type plain Playbook
	var j struct {
		plain
		Deadline string `json:"deadline"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Playbook(j.plain)
	if j.Deadline != "" {
		d, err := time.ParseDuration(j.Deadline)
		if err != nil {
			return fmt.Errorf("playbook deadline: %w", err)
		}
		p.Deadline = d
	}
	return nil
}

// MarshalJSON writes durations in seconds, with a French reading.
func (r RungForecast) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rung         int     `json:"rung"`
		Channel      Channel `json:"channel"`
		AfterSeconds float64 `json:"after_seconds"`
		Contacts     int     `json:"contacts"`
		DoneSeconds  float64 `json:"done_seconds"`
		Done         string  `json:"done"`
	}{r.Rung, r.Channel, r.After.Seconds(), r.Contacts, r.Done.Seconds(), "T+" + FormatDuration(r.Done)})
}

// MarshalJSON writes the deadline in seconds.
func (f Forecast) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rungs           []RungForecast `json:"rungs"`
		DeadlineSeconds float64        `json:"deadline_seconds"`
		MeetsDeadline   bool           `json:"meets_deadline"`
		Warning         string         `json:"warning,omitempty"`
	}{f.Rungs, f.Deadline.Seconds(), f.MeetsDeadline, f.Warning})
}
