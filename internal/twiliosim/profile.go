package twiliosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Behaviour is how a virtual official's number behaves.
type Behaviour string

// Behaviours. An empty Behaviour is Silent.
const (
	// Reply: the SMS is delivered, then the official replies after Delay.
	Reply Behaviour = "reply"
	// Silent: the SMS is delivered and the official never replies.
	Silent Behaviour = "silent"
	// Invalid: SMS refused at create with 21211; calls fail.
	Invalid Behaviour = "invalid"
	// Landline: SMS refused at create with 21614; calls work.
	Landline Behaviour = "landline"
	// Unsubscribed: SMS refused at create with 21610 (the official sent
	// STOP); calls work.
	Unsubscribed Behaviour = "unsubscribed"
	// CarrierFailure: the SMS is accepted, then ends undelivered (or
	// failed) with a 3000x ErrorCode.
	CarrierFailure Behaviour = "carrier-failure"
)

var behaviours = []Behaviour{Reply, Silent, Invalid, Landline, Unsubscribed, CarrierFailure}

// CallOutcome is what happens to the calls placed to a number.
type CallOutcome string

// Call outcomes. An empty CallOutcome is Answer for a Landline, Failed for
// an Invalid number and NoAnswer for everyone else.
const (
	// NoAnswer rings for the call's Timeout, then ends no-answer.
	NoAnswer CallOutcome = "no-answer"
	// Busy rings for the Dial delay, then ends busy.
	Busy CallOutcome = "busy"
	// Failed never rings: the call ends failed.
	Failed CallOutcome = "failed"
	// Answer: the official picks up after AnswerAfter (unless the call's
	// Timeout runs out first: no-answer), listens to the TwiML and keys in
	// Press once (see PressAfter).
	Answer CallOutcome = "answer"
	// Voicemail: an answering machine picks up after AnswerAfter (unless
	// the Timeout runs out first), listens and never presses a key.
	Voicemail CallOutcome = "voicemail"
)

var callOutcomes = []CallOutcome{NoAnswer, Busy, Failed, Answer, Voicemail}

// PressNothing is the Persona.Press value of an official who answers and
// never presses a key.
const PressNothing = "none"

// maxPress is the most keys a Persona presses.
const maxPress = 20

// ReplyCode is the Persona.Reply value that makes the official answer with
// the 4-digit code that follows the word "code" in the message received.
const ReplyCode = "code"

// Persona is one virtual official: what happens to the messages and calls
// sent to a number.
type Persona struct {
	Behaviour Behaviour `json:"behaviour,omitempty" yaml:"behaviour,omitempty"`
	// Reply is the text of a Reply official's answer: "OK" when empty,
	// ReplyCode for the code found in the message (OK when there is none),
	// or any other text.
	Reply string `json:"reply,omitempty" yaml:"reply,omitempty"`
	// Delay is how long after delivery a Reply official answers.
	Delay Range `json:"delay,omitzero" yaml:"delay,omitempty"`
	// ErrorCode is a CarrierFailure's delivery error: 30003 when zero.
	ErrorCode int `json:"error_code,omitempty" yaml:"error_code,omitempty"`
	// Status is a CarrierFailure's final status: "undelivered" (after
	// "sent") when empty, or "failed" (never sent).
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
	// Call is what happens to calls placed to the number.
	Call CallOutcome `json:"call,omitempty" yaml:"call,omitempty"`
	// AnswerAfter is how long the phone rings before the official (Answer)
	// or the voicemail (Voicemail) picks up. When it is not shorter than
	// the call's Timeout, nobody picks up: the call ends no-answer.
	AnswerAfter Range `json:"answer_after,omitzero" yaml:"answer_after,omitempty"`
	// Press is what an Answer official keys in, once per call: "1" when
	// empty, PressNothing, or up to 20 keys among 0-9, * and #.
	Press string `json:"press,omitempty" yaml:"press,omitempty"`
	// PressAfter is when the official is ready to press, counted from the
	// moment they pick up. Zero: once they have heard the first <Say> in
	// full. The keys go to the <Gather> listening at that moment, or to
	// the next one to start.
	PressAfter Range `json:"press_after,omitzero" yaml:"press_after,omitempty"`
	// HangUpAfter, when set, makes whoever picked up (official or
	// voicemail) hang up that long after picking up, even in the middle
	// of the message.
	HangUpAfter Range `json:"hang_up_after,omitzero" yaml:"hang_up_after,omitempty"`
}

// Share is one part of a Profile's Mix: Weight out of the sum of weights.
type Share struct {
	Weight  int `json:"weight" yaml:"weight"`
	Persona `yaml:",inline"`
}

// Profile decides each number's Persona: an exact entry in Numbers, else
// the longest matching entry in Prefixes, else a share of Mix chosen from a
// hash of the number (the same number always gets the same share), else
// Default. Its zero value makes every number Silent with no delays.
type Profile struct {
	Numbers  map[string]Persona `json:"numbers,omitempty" yaml:"numbers,omitempty"`
	Prefixes map[string]Persona `json:"prefixes,omitempty" yaml:"prefixes,omitempty"`
	Mix      []Share            `json:"mix,omitempty" yaml:"mix,omitempty"`
	Default  Persona            `json:"default,omitzero" yaml:"default,omitempty"`
	// Delivery is how long an accepted SMS takes to reach its final
	// status; it is "sent" half way.
	Delivery Range `json:"delivery,omitzero" yaml:"delivery,omitempty"`
	// Dial is how long a call stays queued, then initiated, each.
	Dial Range `json:"dial,omitzero" yaml:"dial,omitempty"`
	// DelayScale multiplies every delay, the calls' ringing Timeout
	// included: 0.1 runs a demo ten times faster. Zero means 1.
	DelayScale float64 `json:"delay_scale,omitempty" yaml:"delay_scale,omitempty"`
	// Talk is how long a caller taken from a queue talks with the agent
	// before hanging up; 90 s when zero.
	Talk Range `json:"talk,omitzero" yaml:"talk,omitempty"`
}

// Range is a delay between Min and Max. Each number gets its own point in
// the range, always the same. In files it is written "30s", or
// {min: 20s, max: 4m}.
type Range struct {
	Min time.Duration
	Max time.Duration
}

// Fixed returns the Range of exactly d.
func Fixed(d time.Duration) Range { return Range{Min: d, Max: d} }

// IsZero reports whether r is no delay at all.
func (r Range) IsZero() bool { return r.Min == 0 && r.Max == 0 }

// pick returns the point of r for key, from a hash of key and salt.
func (r Range) pick(key, salt string) time.Duration {
	if r.Max <= r.Min {
		return r.Min
	}
	f := float64(hash64(salt+"|"+key)>>11) / float64(1<<53)
	return r.Min + time.Duration(f*float64(r.Max-r.Min))
}

type rangeText struct {
	Min string `json:"min" yaml:"min"`
	Max string `json:"max" yaml:"max"`
}

// MarshalJSON writes r as "30s" when fixed, else {"min":…,"max":…}.
func (r Range) MarshalJSON() ([]byte, error) {
	if r.Min == r.Max {
		return json.Marshal(r.Min.String())
	}
	return json.Marshal(rangeText{Min: r.Min.String(), Max: r.Max.String()})
}

// UnmarshalJSON reads "30s" or {"min":"20s","max":"4m"}.
func (r *Range) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return r.set(s, s)
	}
	var t rangeText
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return fmt.Errorf(`delay: want "30s" or {"min": "20s", "max": "4m"}: %w`, err)
	}
	return r.set(t.Min, t.Max)
}

// UnmarshalYAML reads 30s or {min: 20s, max: 4m}.
func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return r.set(n.Value, n.Value)
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "min" && k != "max" {
				return fmt.Errorf("line %d: delay: unknown field %q (want min and max)", n.Content[i].Line, k)
			}
		}
	}
	var t rangeText
	if err := n.Decode(&t); err != nil {
		return fmt.Errorf("line %d: delay: want 30s or {min: 20s, max: 4m}: %w", n.Line, err)
	}
	return r.set(t.Min, t.Max)
}

func (r *Range) set(minText, maxText string) error {
	var err error
	if minText == "" {
		minText = "0s"
	}
	if maxText == "" {
		maxText = minText
	}
	if r.Min, err = time.ParseDuration(minText); err != nil {
		return err
	}
	if r.Max, err = time.ParseDuration(maxText); err != nil {
		return err
	}
	return nil
}

func (r Range) validate(field string) error {
	switch {
	case r.Min < 0 || r.Max < 0:
		return fmt.Errorf("%s: negative delay", field)
	case r.Max < r.Min:
		return fmt.Errorf("%s: max %s is below min %s", field, r.Max, r.Min)
	}
	return nil
}

var (
	e164          = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	prefixPattern = regexp.MustCompile(`^\+[0-9]{1,15}$`)
)

// Validate reports the first mistake in p, naming where it is.
func (p *Profile) Validate() error {
	var errs []error
	for _, n := range sortedKeys(p.Numbers) {
		if !e164.MatchString(n) {
			errs = append(errs, fmt.Errorf("numbers: %q is not an E.164 number such as +33639980001", n))
		}
		errs = append(errs, p.Numbers[n].validate("numbers."+n))
	}
	for _, n := range sortedKeys(p.Prefixes) {
		if !prefixPattern.MatchString(n) {
			errs = append(errs, fmt.Errorf("prefixes: %q is not a number prefix such as +331", n))
		}
		errs = append(errs, p.Prefixes[n].validate("prefixes."+n))
	}
	for i, s := range p.Mix {
		field := fmt.Sprintf("mix[%d]", i)
		if s.Weight <= 0 {
			errs = append(errs, fmt.Errorf("%s: weight must be above 0", field))
		}
		errs = append(errs, s.validate(field))
	}
	errs = append(errs,
		p.Default.validate("default"),
		p.Delivery.validate("delivery"),
		p.Dial.validate("dial"))
	if p.DelayScale < 0 || math.IsNaN(p.DelayScale) || math.IsInf(p.DelayScale, 0) {
		errs = append(errs, fmt.Errorf("delay_scale: %v is not a factor >= 0", p.DelayScale))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (o Persona) validate(field string) error {
	if o.Behaviour != "" && !slices.Contains(behaviours, o.Behaviour) {
		return fmt.Errorf("%s: behaviour %q is not one of %v", field, o.Behaviour, behaviours)
	}
	if o.ErrorCode != 0 && (o.ErrorCode < 30001 || o.ErrorCode > 30999) {
		return fmt.Errorf("%s: error_code %d is not a delivery error (30001-30999)", field, o.ErrorCode)
	}
	if o.Status != "" && o.Status != statusUndelivered && o.Status != statusFailed {
		return fmt.Errorf("%s: status %q is not undelivered or failed", field, o.Status)
	}
	if o.Call != "" && !slices.Contains(callOutcomes, o.Call) {
		return fmt.Errorf("%s: call %q is not one of %v", field, o.Call, callOutcomes)
	}
	outcome := callOutcome(o)
	picksUp := outcome == Answer || outcome == Voicemail
	switch {
	case !picksUp && !o.AnswerAfter.IsZero():
		return fmt.Errorf("%s: answer_after needs call: answer or voicemail (calls here end %s)", field, outcome)
	case !picksUp && !o.HangUpAfter.IsZero():
		return fmt.Errorf("%s: hang_up_after needs call: answer or voicemail (calls here end %s)", field, outcome)
	case outcome != Answer && (o.Press != "" || !o.PressAfter.IsZero()):
		return fmt.Errorf("%s: press and press_after need call: answer (calls here end %s)", field, outcome)
	case o.Press != "" && o.Press != PressNothing && !pressPattern.MatchString(o.Press):
		return fmt.Errorf("%s: press %q is not %q nor up to %d keys among 0-9, * and #", field, o.Press, PressNothing, maxPress)
	}
	return errors.Join(
		o.Delay.validate(field+".delay"),
		o.AnswerAfter.validate(field+".answer_after"),
		o.PressAfter.validate(field+".press_after"),
		o.HangUpAfter.validate(field+".hang_up_after"))
}

var pressPattern = regexp.MustCompile(`^[0-9*#]{1,20}$`)

// callOutcome is what happens to calls to a number of persona p.
func callOutcome(p Persona) CallOutcome {
	switch {
	case p.Call != "":
		return p.Call
	case p.Behaviour == Invalid:
		return Failed
	case p.Behaviour == Landline:
		return Answer
	default:
		return NoAnswer
	}
}

// keys returns what an official of persona p presses: "" for nothing.
func (o Persona) keys() string {
	switch {
	case callOutcome(o) != Answer || o.Press == PressNothing:
		return ""
	case o.Press == "":
		return "1"
	default:
		return o.Press
	}
}

// PersonaFor returns the Persona of number.
func (p *Profile) PersonaFor(number string) Persona {
	if o, ok := p.Numbers[number]; ok {
		return o
	}
	best := ""
	for prefix := range p.Prefixes {
		if strings.HasPrefix(number, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best != "" {
		return p.Prefixes[best]
	}
	total := 0
	for _, s := range p.Mix {
		total += max(s.Weight, 0)
	}
	if total > 0 {
		n := int(hash64("mix|"+number) % uint64(total))
		for _, s := range p.Mix {
			if n < max(s.Weight, 0) {
				return s.Persona
			}
			n -= max(s.Weight, 0)
		}
	}
	return p.Default
}

// clone returns a copy of p that shares no map or slice with it.
func (p Profile) clone() Profile {
	p.Numbers = maps.Clone(p.Numbers)
	p.Prefixes = maps.Clone(p.Prefixes)
	p.Mix = slices.Clone(p.Mix)
	return p
}

// scale returns d times the profile's DelayScale.
func (p *Profile) scale(d time.Duration) time.Duration {
	return scaleDelay(d, p.DelayScale)
}

// scaleDelay returns d times factor, d itself for a factor of 0 or 1.
func scaleDelay(d time.Duration, factor float64) time.Duration {
	if factor == 0 || factor == 1 {
		return d
	}
	f := float64(d) * factor
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(f)
}

// DemoProfile is the population of the default demo. French landlines
// (+331 to +335, +339) cannot take SMS; they answer calls after 5 to 20 s
// and press 1. Of the other numbers, about 85 % reply OK between 20 s and
// 4 min after delivery; 7 % never reply by SMS, of whom 4 answer calls
// (after 5 to 20 s) and press 1, 2 have their voicemail pick up after 20
// to 25 s and 1 never answers; 3 % hit a carrier failure (30003); 5 %
// reply late, after 8 to 20 min, of whom 3 answer calls (after 10 to
// 30 s) and press 1. SMS take 1 to 5 s to be delivered; calls take 1 to
// 3 s to start ringing, and ring out (no-answer) for everyone else.
func DemoProfile() Profile {
	landline := Persona{Behaviour: Landline, AnswerAfter: Range{5 * time.Second, 20 * time.Second}}
	late := Range{8 * time.Minute, 20 * time.Minute}
	return Profile{
		Prefixes: map[string]Persona{
			"+331": landline, "+332": landline, "+333": landline,
			"+334": landline, "+335": landline, "+339": landline,
			// The demo CIP's operators (06 39 98 90 01…): they answer
			// the call-out, and pick up when called for the queue.
			"+336399890": {Behaviour: Reply, Delay: Range{30 * time.Second, 2 * time.Minute}, Call: Answer, AnswerAfter: Range{4 * time.Second, 12 * time.Second}},
		},
		Mix: []Share{
			{Weight: 85, Persona: Persona{Behaviour: Reply, Delay: Range{20 * time.Second, 4 * time.Minute}}},
			{Weight: 4, Persona: Persona{Behaviour: Silent, Call: Answer, AnswerAfter: Range{5 * time.Second, 20 * time.Second}}},
			{Weight: 2, Persona: Persona{Behaviour: Silent, Call: Voicemail, AnswerAfter: Range{20 * time.Second, 25 * time.Second}}},
			{Weight: 1, Persona: Persona{Behaviour: Silent}},
			{Weight: 3, Persona: Persona{Behaviour: CarrierFailure, ErrorCode: CodeUnreachable}},
			{Weight: 3, Persona: Persona{Behaviour: Reply, Delay: late, Call: Answer, AnswerAfter: Range{10 * time.Second, 30 * time.Second}}},
			{Weight: 2, Persona: Persona{Behaviour: Reply, Delay: late}},
		},
		Default:  Persona{Behaviour: Silent},
		Delivery: Range{time.Second, 5 * time.Second},
		Dial:     Range{time.Second, 3 * time.Second},
		Talk:     Range{time.Minute, 3 * time.Minute},
	}
}

// ParseProfile reads a profile in YAML or JSON (JSON is read as YAML).
// Unknown fields are errors, so that a typo does not silently change the
// population.
func ParseProfile(data []byte) (Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return Profile{}, fmt.Errorf("parse profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	return p, nil
}

// LoadProfile reads the profile file at path.
func LoadProfile(path string) (Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("load profile: %w", err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return Profile{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	// FNV's low bits mix poorly for keys that differ only at the end, as
	// phone numbers do: finish with a 64-bit mixer.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
