package activation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store is what the service needs from storage.
type Store interface {
	Officials(ctx context.Context) ([]tocsin.Official, error)
	// The writes that record a change take its audit entry, written in
	// the same transaction (in the store's outbox, chained later).
	CreateActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, first tocsin.Event, audit ...tocsin.AuditEntry) error
	Activation(ctx context.Context, id string) (*tocsin.Activation, error)
	Activations(ctx context.Context) ([]tocsin.Activation, error)
	Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error)
	// RecipientsRev also returns the store revision they were read at, and
	// RecipientsChangedSince whether one was written after a revision.
	RecipientsRev(ctx context.Context, id string) ([]tocsin.Recipient, int64, error)
	RecipientsChangedSince(ctx context.Context, id string, rev int64) (bool, error)
	Recipient(ctx context.Context, activation, official string) (*tocsin.Recipient, error)
	Events(ctx context.Context, id string) ([]tocsin.Event, error)
	UpdateRecipient(ctx context.Context, activation, official string,
		fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error), audit ...tocsin.AuditEntry) (*tocsin.Recipient, error)
	UpdateActivation(ctx context.Context, id string, fn func(a *tocsin.Activation) ([]tocsin.Event, error), audit ...tocsin.AuditEntry) (*tocsin.Activation, error)
	// OpenByNumber returns, oldest first, the open activations that target
	// a number and the officials it answers for in each (theirs, or a
	// deputy's).
	OpenByNumber(ctx context.Context, e164 string) (activations []tocsin.Activation, officials [][]string, err error)
	// LockImports and ImportActivation import history (history.go).
	LockImports(ctx context.Context) (unlock func(), err error)
	ImportActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, event tocsin.Event, audit ...tocsin.AuditEntry) error
}

// Renderer prepares a playbook's message for an activation and returns
// what fills it for one official: the SMS text, or with spoken the text a
// call says; with deputy, the text for the official's deputies.
type Renderer func(pb *tocsin.Playbook, a *tocsin.Activation) (func(o *tocsin.Official, spoken, deputy bool) (string, error), error)

// Service runs activations.
type Service struct {
	store     Store
	playbooks func() []tocsin.Playbook
	render    Renderer
	rates     tocsin.Rates
	fold      bool
	cipDelay  time.Duration
	now       func() time.Time
	log       *slog.Logger
	audit     AuditTrail
	retex     RetexStore

	readPace  PaceFunc
	paceCache paceCache

	// settled keeps the summaries of closed activations, by activation,
	// with the store revision their recipients were read at (listView).
	mu      sync.Mutex
	settled map[string]settledView
}

type settledView struct {
	rev      int64
	summary  tocsin.Summary
	forecast tocsin.Forecast
}

// AuditTrail is the audit trail as the service uses it. Each change's
// entry is written by the store in the same transaction as the change,
// in an outbox; the trail chains it.
type AuditTrail interface {
	// Drain chains the entries waiting in the outbox. The service drains
	// right after a change, so that its entry shows at once; a failure is
	// left to the leader, which drains periodically.
	Drain(ctx context.Context) (int, error)
	// Append records an entry that goes with no single write of the
	// store: the summary of a history import.
	Append(ctx context.Context, actor, action, activation, detail string) (tocsin.AuditEntry, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Playbooks returns the playbooks in force.
	Playbooks func() []tocsin.Playbook
	Render    Renderer
	// Rates are the provider limits dispatch keeps to, for the forecast.
	Rates tocsin.Rates
	// FoldTypography replaces typographic punctuation (’ « » …) by GSM-7
	// equivalents in every message, so that punctuation alone does not
	// make an SMS twice as expensive. Letters are never changed.
	FoldTypography bool
	// CIPDelay is the public information cell's announced delay; 0 means
	// one hour.
	CIPDelay time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
	// Audit chains the entries written with the changes at once; nil
	// leaves them to the leader's periodic drain.
	Audit AuditTrail
	// Pace reads the effective sending rates the leader publishes; nil:
	// the configured rates always hold.
	Pace PaceFunc
	// Retex keeps the exercises' RETEX; nil keeps none.
	Retex RetexStore
}

// New returns a service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CIPDelay <= 0 {
		cfg.CIPDelay = tocsin.DefaultCIPDelay
	}
	return &Service{cipDelay: cfg.CIPDelay, store: cfg.Store, playbooks: cfg.Playbooks, render: cfg.Render, rates: cfg.Rates, fold: cfg.FoldTypography, now: cfg.Now,
		log: cfg.Logger.With("component", "activation"), audit: cfg.Audit, retex: cfg.Retex, readPace: cfg.Pace}
}

// Request asks for a new activation.
type Request struct {
	Playbook string `json:"playbook"`
	Exercise bool   `json:"exercise"`
	Note     string `json:"note"`
	// ExerciseDue is the due instant of the scheduled exercise it fulfils;
	// only the exercise schedule sets it.
	ExerciseDue *time.Time `json:"-"`
}

// Playbook returns the playbook with id, or ENotFound.
func (s *Service) Playbook(id string) (*tocsin.Playbook, error) {
	for _, pb := range s.playbooks() {
		if pb.ID == id {
			return &pb, nil
		}
	}
	return nil, tocsin.FieldErrorf(tocsin.ENotFound, "playbook", "scénario %q inconnu", id)
}

// maxNote bounds the free text an activation carries into every message.
const maxNote = 300

// prepared is an activation resolved from its playbook and the directory,
// not stored yet.
type prepared struct {
	playbook   *tocsin.Playbook
	activation *tocsin.Activation
	recipients []tocsin.Recipient
}

// prepare checks a request, resolves the audience and renders each
// official's message.
func (s *Service) prepare(ctx context.Context, by tocsin.User, req Request) (*prepared, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas d'activer la cellule", by.Role)
	}
	if strings.TrimSpace(req.Playbook) == "" {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "playbook", "choisissez un scénario")
	}
	req.Note = strings.TrimSpace(req.Note)
	if n := len([]rune(req.Note)); n > maxNote {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "texte libre trop long : %d caractères, %d au plus", n, maxNote)
	}
	pb, err := s.Playbook(req.Playbook)
	if err != nil {
		return nil, err
	}
	officials, err := s.store.Officials(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	a := &tocsin.Activation{
		ID:          newID(now),
		Playbook:    pb.ID,
		Title:       pb.Title,
		Exercise:    req.Exercise || pb.Exercise,
		Note:        req.Note,
		Code:        newCode(),
		State:       tocsin.Open,
		ActivatedAt: now,
		Deadline:    now.Add(pb.Deadline),
		Ladder:      pb.Ladder,
		CreatedBy:   by.Name,
	}
	if req.ExerciseDue != nil && a.Exercise {
		due := req.ExerciseDue.UTC()
		a.ExerciseDue = &due
	}
	if len(a.Ladder) == 0 {
		a.Ladder = tocsin.DefaultLadder
	}
	fill, err := s.render(pb, a)
	if err != nil {
		return nil, fmt.Errorf("prepare message: %w", err)
	}
	byID := make(map[string]*tocsin.Official, len(officials))
	for i := range officials {
		byID[officials[i].ID] = &officials[i]
	}
	var rs []tocsin.Recipient
	for i := range officials {
		o := &officials[i]
		if !pb.Audience.Match(o) {
			continue
		}
		r := tocsin.Recipient{Official: *o}
		for _, id := range o.Deputies {
			if d, ok := byID[id]; ok {
				r.Deputies = append(r.Deputies, tocsin.Contact{ID: d.ID, Name: d.Name, Role: d.Role, Numbers: d.Numbers})
			}
		}
		if r.Message, r.Speech, err = s.texts(fill, o, false); err != nil {
			return nil, err
		}
		if len(r.Deputies) > 0 {
			if r.DeputyMessage, r.DeputySpeech, err = s.texts(fill, o, true); err != nil {
				return nil, err
			}
		}
		r.Segments, r.Encoding = tocsin.Segments(r.Message)
		a.Refresh(&r, now)
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "playbook", "le scénario %q ne vise aucun élu de l'annuaire", pb.ID)
	}
	a.Targeted = len(rs)
	return &prepared{playbook: pb, activation: a, recipients: rs}, nil
}

// texts renders what an official (or, with deputy, their deputies) get:
// the SMS, folded to GSM-7 punctuation when asked, and what a call says.
func (s *Service) texts(fill func(o *tocsin.Official, spoken, deputy bool) (string, error), o *tocsin.Official, deputy bool) (msg, speech string, err error) {
	if msg, err = fill(o, false, deputy); err != nil {
		return "", "", fmt.Errorf("render message for %s: %w", o.ID, err)
	}
	if speech, err = fill(o, true, deputy); err != nil {
		return "", "", fmt.Errorf("render speech for %s: %w", o.ID, err)
	}
	if s.fold {
		msg = tocsin.FoldTypography(msg)
	}
	return msg, speech, nil
}

// Preview is what the duty officer checks before anything is sent.
type Preview struct {
	Playbook tocsin.Playbook `json:"playbook"`
	Exercise bool            `json:"exercise"`
	Targeted int             `json:"targeted"`
	// Sample is the message as the first official will receive it.
	Sample string `json:"sample"`
	// DeputySample is the message as the first deputy will receive it on
	// behalf of their official; empty when nobody has a deputy.
	DeputySample string          `json:"deputy_sample,omitempty"`
	Segments     int             `json:"segments"`
	Encoding     tocsin.Encoding `json:"encoding"`
	// NonGSM lists the characters that force UCS-2 (70 characters a segment).
	NonGSM   []string        `json:"non_gsm,omitempty"`
	Forecast tocsin.Forecast `json:"forecast"`
	// Pace is set while the provider holds the sending rates below the
	// configured ones; the forecast goes by it.
	Pace *tocsin.Pace `json:"pace,omitempty"`
}

// Preview resolves a request as Create would, and stores nothing.
func (s *Service) Preview(ctx context.Context, by tocsin.User, req Request) (*Preview, error) {
	p, err := s.prepare(ctx, by, req)
	if err != nil {
		return nil, err
	}
	sample := p.recipients[0].Message
	n, enc := tocsin.Segments(sample)
	var deputySample string
	for i := range p.recipients {
		if m := p.recipients[i].DeputyMessage; m != "" {
			deputySample = m
			break
		}
	}
	return &Preview{DeputySample: deputySample,
		Playbook: *p.playbook, Exercise: p.activation.Exercise, Targeted: len(p.recipients),
		Sample: sample, Segments: n, Encoding: enc, NonGSM: tocsin.NonGSM(sample),
		Forecast: s.forecast(p.activation, p.recipients, s.pace(ctx)),
		Pace:     s.pace(ctx),
	}, nil
}

// forecast goes by the rates dispatch achieves: the configured ones,
// lowered to what the provider allows while it limits them (pace, nil
// when it does not).
func (s *Service) forecast(a *tocsin.Activation, rs []tocsin.Recipient, pace *tocsin.Pace) tocsin.Forecast {
	return tocsin.ForecastLadder(a.Ladder, rs, a.Deadline.Sub(a.ActivatedAt), s.rates.Apply(pace))
}

// Create resolves the audience, renders each official's message, and
// stores the activation; the leader's dispatch picks it up from there. It
// returns the activation as it was stored, with its recipients and first
// event, without reading it back.
func (s *Service) Create(ctx context.Context, by tocsin.User, req Request) (*View, error) {
	p, err := s.prepare(ctx, by, req)
	if err != nil {
		return nil, err
	}
	a := p.activation
	kind := "réelle"
	if a.Exercise {
		kind = "d'exercice"
	}
	first := tocsin.Event{At: a.ActivatedAt, Kind: tocsin.EventActivated,
		Detail: fmt.Sprintf("activation %s « %s » par %s : %d élus visés", kind, a.Title, by.Name, a.Targeted)}
	entry := tocsin.AuditEntry{At: a.ActivatedAt, Actor: by.Name, Action: tocsin.AuditActivationCreated, Activation: a.ID, Detail: first.Detail}
	if err := s.store.CreateActivation(ctx, a, p.recipients, first, entry); err != nil {
		return nil, err
	}
	s.log.Info("activation created", "activation", a.ID, "playbook", a.Playbook, "exercise", a.Exercise, "targeted", a.Targeted, "by", by.Name)
	s.drain(ctx)
	v := s.newView(ctx, a, p.recipients)
	v.Recipients = p.recipients
	v.Timeline = []TimelineEvent{{Event: first, AtParis: tocsin.ParisTime(first.At)}}
	return &v, nil
}

// newID returns a sortable, readable id: 20261128-061234-a1b2.
func newID(t time.Time) string {
	return fmt.Sprintf("%s-%04x", t.UTC().Format("20060102-150405"), randInt(1<<16))
}

// newCode returns the 4-digit code an official may reply instead of OK.
func newCode() string { return fmt.Sprintf("%04d", randInt(10000)) }

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return v.Int64()
}

// View is an activation with everything the duty officer sees. Times are
// UTC; the *_paris fields give them in Paris time for people.
type View struct {
	tocsin.Activation
	ActivatedAtParis string          `json:"activated_at_paris"`
	DeadlineParis    string          `json:"deadline_paris"`
	Summary          tocsin.Summary  `json:"summary"`
	Forecast         tocsin.Forecast `json:"forecast"`
	// Pace is set while the provider holds the sending rates below the
	// configured ones: « débit réel : 19,6 SMS/s, limité par Twilio ».
	Pace       *tocsin.Pace       `json:"pace,omitempty"`
	Recipients []tocsin.Recipient `json:"recipients,omitempty"`
	Timeline   []TimelineEvent    `json:"timeline,omitempty"`
}

// TimelineEvent is an event with its time in Paris.
type TimelineEvent struct {
	tocsin.Event
	AtParis string `json:"at_paris"`
}

// newView is an activation with its summary and forecast; an open one
// also with the effective rates while the provider limits them.
func (s *Service) newView(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient) View {
	var pace *tocsin.Pace
	if a.State == tocsin.Open {
		pace = s.pace(ctx)
	}
	v := viewOf(a, a.Summarize(rs, s.now()), s.forecast(a, rs, pace))
	v.Pace = pace
	return v
}

// viewOf is an activation with its summary and forecast.
func viewOf(a *tocsin.Activation, sum tocsin.Summary, f tocsin.Forecast) View {
	return View{Activation: *a, ActivatedAtParis: tocsin.ParisTime(a.ActivatedAt), DeadlineParis: tocsin.ParisTime(a.Deadline),
		Summary: sum, Forecast: f}
}

// Get returns an activation with its summary, recipients and timeline.
func (s *Service) Get(ctx context.Context, id string) (*View, error) {
	a, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.Recipients(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err := s.store.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	v := s.newView(ctx, a, rs)
	v.Recipients = rs
	for _, e := range ev {
		v.Timeline = append(v.Timeline, TimelineEvent{Event: e, AtParis: tocsin.ParisTime(e.At)})
	}
	return &v, nil
}

// List returns every activation with its summary, newest first.
func (s *Service) List(ctx context.Context) ([]View, error) {
	as, err := s.store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(as))
	for i := range as {
		v, err := s.listView(ctx, &as[i])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// listView is an activation with its summary, for lists. A closed
// activation has figures that time no longer changes (but the time left):
// they are computed once and kept while no recipient is written (a late
// status callback), so that a list of many past activations, imported
// ones included, does not read every recipient of each every time.
func (s *Service) listView(ctx context.Context, a *tocsin.Activation) (View, error) {
	now := s.now()
	settled := a.State == tocsin.Closed
	if settled {
		s.mu.Lock()
		kept, ok := s.settled[a.ID]
		s.mu.Unlock()
		if ok {
			changed, err := s.store.RecipientsChangedSince(ctx, a.ID, kept.rev)
			if err != nil {
				return View{}, err
			}
			if !changed {
				v := viewOf(a, kept.summary, kept.forecast)
				v.Summary.TimeLeft = a.Deadline.Sub(now).Seconds()
				return v, nil
			}
		}
	}
	rs, rev, err := s.store.RecipientsRev(ctx, a.ID)
	if err != nil {
		return View{}, err
	}
	v := s.newView(ctx, a, rs)
	if settled {
		s.mu.Lock()
		if s.settled == nil {
			s.settled = map[string]settledView{}
		}
		s.settled[a.ID] = settledView{rev: rev, summary: v.Summary, forecast: v.Forecast}
		s.mu.Unlock()
	}
	return v, nil
}

// Close ends an activation: nothing more is sent for it.
func (s *Service) Close(ctx context.Context, by tocsin.User, id string) (*tocsin.Activation, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de clore une activation", by.Role)
	}
	now := s.now().UTC()
	a, err := s.store.UpdateActivation(ctx, id, func(a *tocsin.Activation) ([]tocsin.Event, error) {
		if a.Imported != nil {
			return nil, tocsin.ImportedError(id)
		}
		if a.State == tocsin.Closed {
			return nil, tocsin.Errorf(tocsin.EConflict, "l'activation %s est déjà close", id)
		}
		a.State, a.ClosedAt, a.ClosedBy = tocsin.Closed, &now, by.Name
		return []tocsin.Event{{At: now, Kind: tocsin.EventClosed, Detail: "activation close par " + by.Name}}, nil
	}, tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditActivationClosed, Activation: id, Detail: "activation close"})
	if err != nil {
		return nil, err
	}
	s.log.Info("activation closed", "activation", id, "by", by.Name)
	s.drain(ctx)
	return a, nil
}

// ActivateCIP records that the public information cell was activated for
// an open activation, now, against the announced delay. It can be recorded
// once.
func (s *Service) ActivateCIP(ctx context.Context, by tocsin.User, id, note string) (*tocsin.Activation, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas d'activer la CIP", by.Role)
	}
	note = strings.TrimSpace(note)
	if len([]rune(note)) > maxNote {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "%d caractères au plus", maxNote)
	}
	// The entry is written with the change: its delay is computed now,
	// from the activation's start, which never changes.
	cur, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	cip := cur.NewCIP(now, by.Name, s.cipDelay, note)
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditCIP, Activation: id, Detail: fmt.Sprintf("CIP activée %s après l'activation, délai annoncé %s, dans le délai : %t",
		tocsin.FormatDuration(time.Duration(cip.DelaySeconds*float64(time.Second))), tocsin.FormatDuration(s.cipDelay), cip.WithinDelay)}
	a, err := s.store.UpdateActivation(ctx, id, func(a *tocsin.Activation) ([]tocsin.Event, error) {
		switch {
		case a.Imported != nil:
			return nil, tocsin.ImportedError(id)
		case a.CIP != nil:
			return nil, tocsin.Errorf(tocsin.EConflict, "la CIP est déjà activée depuis le %s", tocsin.ParisTime(a.CIP.ActivatedAt))
		case a.State != tocsin.Open:
			return nil, tocsin.Errorf(tocsin.EConflict, "l'activation %s est close", id)
		}
		a.CIP = a.NewCIP(now, by.Name, s.cipDelay, note)
		verdict := "dans le délai annoncé"
		if !a.CIP.WithinDelay {
			verdict = "hors du délai annoncé"
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventCIP, Detail: fmt.Sprintf("CIP activée par %s, %s après l'activation : %s (%s)",
			by.Name, tocsin.FormatDuration(now.Sub(a.ActivatedAt)), verdict, tocsin.FormatDuration(s.cipDelay))}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("cip activated", "activation", id, "by", by.Name, "within", a.CIP.WithinDelay)
	s.drain(ctx)
	return a, nil
}

// ConfirmRequest says how the duty officer reached an official another way.
type ConfirmRequest struct {
	Reached string `json:"reached"` // who was reached; default the official
	How     string `json:"how"`     // required: telephone, en personne, radio…
	Note    string `json:"note"`
}

// Confirm records that the duty officer reached an official another way:
// the official counts as informed from now, and every pending attempt for
// them stops. Confirming an informed official is a conflict.
func (s *Service) Confirm(ctx context.Context, by tocsin.User, activationID, official string, req ConfirmRequest) (*tocsin.Recipient, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de confirmer", by.Role)
	}
	req.How, req.Reached, req.Note = strings.TrimSpace(req.How), strings.TrimSpace(req.Reached), strings.TrimSpace(req.Note)
	switch {
	case req.How == "":
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "how", "dites comment l'élu a été joint (téléphone, en personne…)")
	case len([]rune(req.How)) > 100:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "how", "100 caractères au plus")
	case len([]rune(req.Reached)) > 100:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "reached", "100 caractères au plus")
	case len([]rune(req.Note)) > maxNote:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "%d caractères au plus", maxNote)
	}
	// The entry is written with the change: it names the official as the
	// recipient holds them, which never changes.
	cur, err := s.store.Recipient(ctx, activationID, official)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	reached := req.Reached
	if reached == "" {
		reached = cur.Official.Name
	}
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditConfirmed, Activation: activationID,
		Detail: fmt.Sprintf("%s (%s) confirmé·e à la main : joint·e par %s (%s)", cur.Official.Name, official, reached, req.How)}
	r, err := s.store.UpdateRecipient(ctx, activationID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		if a.Imported != nil {
			return nil, tocsin.ImportedError(activationID)
		}
		if r.InformedAt != nil {
			return nil, tocsin.Errorf(tocsin.EConflict, "%s est déjà informé·e (%s, %s)", r.Official.Name, r.InformedHow, tocsin.ParisTime(*r.InformedAt))
		}
		r.InformedAt, r.InformedHow, r.InformedFrom = &now, "manual", by.Name
		r.Confirmation = &tocsin.Confirmation{By: by.Name, Reached: reached, How: req.How, Note: req.Note}
		a.Refresh(r, now)
		detail := fmt.Sprintf("%s informé·e : joint·e par %s (%s), confirmé par %s", r.Official.Name, reached, req.How, by.Name)
		if req.Note != "" {
			detail += " — " + req.Note
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventInformed, Detail: detail}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("official informed", "activation", activationID, "official", official, "how", "manual", "by", by.Name)
	s.drain(ctx)
	return r, nil
}

// AttemptRef names the attempt a status callback is about; it travels in
// the callback URL.
type AttemptRef struct {
	Activation, Official, Attempt string
}

// StatusReport is a delivery status of an attempt: from its callback, or
// read from the provider's records when the callback was lost.
type StatusReport struct {
	SID       string
	Status    tocsin.AttemptStatus
	ErrorCode int
	// Recovered is set when the status was read from the provider's
	// records: the timeline says so.
	Recovered bool
}

// RecordStatus applies a delivery status. A status for an unknown attempt,
// or whose SID does not match, is refused with EInvalid; a repeated or late
// one changes nothing.
func (s *Service) RecordStatus(ctx context.Context, ref AttemptRef, st StatusReport) error {
	_, err := s.store.UpdateRecipient(ctx, ref.Activation, ref.Official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		at := r.Attempt(ref.Attempt)
		if at == nil {
			return nil, tocsin.Errorf(tocsin.EInvalid, "tentative %s inconnue", ref.Attempt)
		}
		if at.SID != "" && at.SID != st.SID {
			return nil, tocsin.Errorf(tocsin.EInvalid, "la tentative %s porte un autre identifiant Twilio", ref.Attempt)
		}
		if at.SID == st.SID && !at.Status.Advances(st.Status) {
			return nil, tocsin.ErrNoChange // repeated or late callback
		}
		now := s.now().UTC()
		at.SID, at.UpdatedAt = st.SID, now
		if at.Status.Advances(st.Status) {
			at.Status = st.Status
			at.NextTry = nil
		}
		if st.ErrorCode != 0 {
			at.ErrorCode = st.ErrorCode
		}
		a.Refresh(r, now)
		detail := statusDetail(st.Status, st.ErrorCode)
		if st.Recovered {
			detail += " (statut retrouvé chez l'opérateur)"
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventStatus, Attempt: at.ID, Channel: at.Channel,
			Detail: detail, Recovered: st.Recovered}}, nil
	})
	if errors.Is(err, tocsin.ErrNoChange) {
		return nil
	}
	return err
}

func statusDetail(status tocsin.AttemptStatus, code int) string {
	switch status {
	case tocsin.AttemptInitiated:
		return "appel lancé"
	case tocsin.AttemptRinging:
		return "appel : ça sonne"
	case tocsin.AttemptInProgress:
		return "appel décroché"
	case tocsin.AttemptCompleted:
		return "appel terminé"
	case tocsin.AttemptBusy:
		return "appel : occupé"
	case tocsin.AttemptNoAnswer:
		return "appel : pas de réponse"
	case tocsin.AttemptCanceled:
		return "appel annulé"
	case tocsin.AttemptDelivered:
		return "SMS distribué"
	case tocsin.AttemptSent:
		return "SMS transmis à l'opérateur mobile"
	case tocsin.AttemptUndelivered:
		return fmt.Sprintf("SMS non distribué (code %d)", code)
	case tocsin.AttemptFailed:
		return fmt.Sprintf("échec de l'envoi (code %d)", code)
	default:
		return "statut " + string(status)
	}
}

// CallScript is what a call says: the official's message, unless they were
// informed meanwhile.
type CallScript struct {
	Message         string
	AlreadyInformed bool
}

// Script returns what the call of an attempt must say. It fails with
// EInvalid when the attempt is not a call of that recipient, or its SID
// does not match.
func (s *Service) Script(ctx context.Context, ref AttemptRef, callSID string) (*CallScript, error) {
	r, err := s.store.Recipient(ctx, ref.Activation, ref.Official)
	if err != nil {
		if tocsin.ErrorCode(err) == tocsin.ENotFound {
			return nil, tocsin.Errorf(tocsin.EInvalid, "destinataire %s inconnu", ref.Official)
		}
		return nil, err
	}
	at := r.Attempt(ref.Attempt)
	if at == nil || at.Channel != tocsin.Voice || (at.SID != "" && callSID != "" && at.SID != callSID) {
		return nil, tocsin.Errorf(tocsin.EInvalid, "appel %s inconnu", ref.Attempt)
	}
	a, err := s.store.Activation(ctx, ref.Activation)
	if err != nil {
		return nil, err
	}
	return &CallScript{Message: r.SpeechFor(at.To), AlreadyInformed: r.InformedAt != nil || a.State != tocsin.Open}, nil
}

// KeyPress applies the key an official pressed during a call: 1 informs
// them. It reports whether the key acknowledged.
func (s *Service) KeyPress(ctx context.Context, ref AttemptRef, callSID, digits string) (bool, error) {
	if digits != "1" {
		return false, nil
	}
	_, err := s.store.UpdateRecipient(ctx, ref.Activation, ref.Official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		at := r.Attempt(ref.Attempt)
		if at == nil || at.Channel != tocsin.Voice || (at.SID != "" && at.SID != callSID) {
			return nil, tocsin.Errorf(tocsin.EInvalid, "appel %s inconnu", ref.Attempt)
		}
		if r.InformedAt != nil {
			return nil, tocsin.ErrNoChange
		}
		now := s.now().UTC()
		if at.SID == "" {
			at.SID = callSID
		}
		r.InformedAt, r.InformedHow, r.InformedFrom = &now, "voice", at.To
		a.Refresh(r, now)
		return []tocsin.Event{{At: now, Kind: tocsin.EventInformed, Attempt: at.ID, Channel: tocsin.Voice,
			Detail: fmt.Sprintf("%s informé·e : touche 1 pendant l'appel au %s", r.Official.Name, at.To)}}, nil
	})
	if err != nil && !errors.Is(err, tocsin.ErrNoChange) {
		return false, err
	}
	// The audit trail records the acknowledgement from the store's history
	// (audit.Recipients), so that a crash here cannot lose it.
	s.log.Info("official informed", "activation", ref.Activation, "official", ref.Official, "how", "voice")
	return true, nil
}

// ReplyOutcome says what an inbound SMS did.
type ReplyOutcome string

const (
	ReplyInformed      ReplyOutcome = "informed"       // it acknowledged: the official is now informed
	ReplyAlready       ReplyOutcome = "already"        // acknowledged again: nothing changes
	ReplyNotUnderstood ReplyOutcome = "not-understood" // kept in the timeline only
	ReplyUnknownNumber ReplyOutcome = "unknown-number" // no open activation targets this number
)

// Reply applies an SMS received from a number: if it acknowledges, the
// officials the number answers for (as theirs or as a deputy's) are
// informed in the activation it answers — the one whose code it carries,
// or else the most recent one open when it was received — at the time the
// provider received it. A reply already applied (same SID) changes
// nothing, so that the webhook and reconciliation with the provider may
// both bring it.
func (s *Service) Reply(ctx context.Context, in tocsin.Inbound) (ReplyOutcome, error) {
	acts, officials, err := s.store.OpenByNumber(ctx, in.From)
	if err != nil {
		return "", err
	}
	at := in.At.UTC()
	if in.At.IsZero() {
		at = s.now().UTC()
	}
	// A reply answers an activation that existed when it was received.
	for i := len(acts) - 1; i >= 0; i-- {
		if acts[i].ActivatedAt.After(at) {
			acts, officials = slices.Delete(acts, i, i+1), slices.Delete(officials, i, i+1)
		}
	}
	if len(acts) == 0 {
		return ReplyUnknownNumber, nil
	}
	pick := len(acts) - 1
	for i := range acts {
		if acts[i].Code != "" && strings.Contains(in.Body, acts[i].Code) {
			pick = i
		}
	}
	ack := tocsin.IsAcknowledgement(in.Body, acts[pick].Code)
	outcome := ReplyNotUnderstood
	if ack {
		outcome = ReplyAlready
	}
	from := in.From
	quoted := fmt.Sprintf("« %s »", truncate(in.Body, 160))
	recovered := ""
	if in.Recovered {
		recovered = fmt.Sprintf(" (reçue à %s, retrouvée chez l'opérateur)", tocsin.ParisTime(at))
	}
	for i, official := range officials[pick] {
		_, err = s.store.UpdateRecipient(ctx, acts[pick].ID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			if in.SID != "" && slices.Contains(r.Replies, in.SID) {
				if r.InformedAt != nil && ack {
					outcome = ReplyAlready
				}
				return nil, tocsin.ErrNoChange // applied before
			}
			who := "de " + from
			if d := deputyWith(r, from); d != "" && !ownNumber(r, from) {
				// A deputy answers for the official only once the ladder
				// has reached them for that official.
				if !contacted(r, from) {
					return nil, tocsin.ErrNoChange
				}
				who = "du suppléant " + d + " (" + from + ")"
			}
			switch {
			case !ack:
				if i > 0 {
					return nil, tocsin.ErrNoChange // one event for the reply is enough
				}
				r.Replies = appendReply(r.Replies, in.SID)
				return []tocsin.Event{{At: at, Kind: tocsin.EventReply, Channel: tocsin.SMS, Recovered: in.Recovered,
					Detail: "réponse non reconnue " + who + " : " + quoted + recovered}}, nil
			case r.InformedAt != nil:
				return nil, tocsin.ErrNoChange
			}
			outcome = ReplyInformed
			r.Replies = appendReply(r.Replies, in.SID)
			r.InformedAt, r.InformedHow, r.InformedFrom = &at, "sms", from
			a.Refresh(r, at)
			return []tocsin.Event{{At: at, Kind: tocsin.EventInformed, Channel: tocsin.SMS, Recovered: in.Recovered,
				Detail: fmt.Sprintf("%s informé·e : réponse %s %s%s", r.Official.Name, quoted, who, recovered)}}, nil
		})
		if err != nil && !errors.Is(err, tocsin.ErrNoChange) {
			return "", err
		}
	}
	if outcome == ReplyInformed {
		// Audited from the store's history, as for a key press.
		s.log.Info("officials informed", "activation", acts[pick].ID, "officials", len(officials[pick]), "how", "sms", "recovered", in.Recovered)
	}
	return outcome, nil
}

// maxReplies bounds the reply ids a recipient keeps: an official who
// answers again and again must not grow the record without end.
const maxReplies = 20

// appendReply adds sid to the ids kept, dropping the oldest past
// maxReplies.
func appendReply(ids []string, sid string) []string {
	if sid == "" {
		return ids
	}
	ids = append(ids, sid)
	if len(ids) > maxReplies {
		ids = ids[len(ids)-maxReplies:]
	}
	return ids
}

func ownNumber(r *tocsin.Recipient, number string) bool {
	for _, n := range r.Official.Numbers {
		if n.E164 == number {
			return true
		}
	}
	return false
}

// contacted reports whether an attempt for r went to number.
func contacted(r *tocsin.Recipient, number string) bool {
	for _, at := range r.Attempts {
		if at.To == number && at.Tries > 0 {
			return true
		}
	}
	return false
}

// deputyWith returns the name of r's deputy who has number, "" if none.
func deputyWith(r *tocsin.Recipient, number string) string {
	for _, d := range r.Deputies {
		for _, n := range d.Numbers {
			if n.E164 == number {
				return d.Name
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
