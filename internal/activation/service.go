package activation

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"iter"
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
}

// HistoryStore imports past activations, and scheduled exercises not
// held as runs of the schedule (history.go).
type HistoryStore interface {
	LockImports(ctx context.Context) (unlock func(), err error)
	ImportActivation(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient, event tocsin.Event, audit ...tocsin.AuditEntry) error
	ExerciseRuns(ctx context.Context) ([]tocsin.ExerciseRun, error)
	// ClaimExerciseRun stores run, with audit in the same transaction,
	// unless a run is recorded at its due instant: it reports whether it
	// did.
	ClaimExerciseRun(ctx context.Context, run tocsin.ExerciseRun, audit ...tocsin.AuditEntry) (bool, error)
}

// Renderer prepares a playbook's message for an activation and returns
// what fills it for one official: the SMS text, or with spoken the text a
// call says; with deputy, the text for the official's deputies.
type Renderer func(pb *tocsin.Playbook, a *tocsin.Activation) (func(o *tocsin.Official, spoken, deputy bool) (string, error), error)

// Service runs activations.
type Service struct {
	store     Store
	history   HistoryStore
	playbooks func() []tocsin.Playbook
	render    Renderer
	rates     tocsin.Rates
	fold      bool
	cipDelay  time.Duration
	claimFor  time.Duration
	cip       CIPStore
	line      PublicLineStore
	queue     QueueStore
	callOp    CallOperatorFunc
	now       func() time.Time
	log       *slog.Logger
	audit     AuditTrail
	retex     RetexStore
	notHeld   NotHeldFunc

	readPace  PaceFunc
	paceCache paceCache

	creations    CreationStore
	directory    DirectoryStore
	inbox        InboxStore
	partSize     int
	goBackground func(func(ctx context.Context))

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
	// History imports past activations; nil refuses imports.
	History HistoryStore
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
	// NotHeld returns the scheduled exercises that did not happen, for the
	// history export; nil exports none.
	NotHeld NotHeldFunc
	// Creations writes large activations in parts (creation.go); nil
	// writes every activation whole before anything is sent.
	Creations CreationStore
	// PartSize is how many recipients a creation writes at a time, the
	// first part with the activation record; 0 means DefaultPartSize.
	PartSize int
	// Go runs the rest of a creation in the background, past the request
	// that started it, with a context that ends when the replica stops;
	// nil runs it with context.Background.
	Go func(func(ctx context.Context))
	// ClaimFor is how long a duty officer holds an official they call by
	// hand; 0 means tocsin.DefaultClaimFor.
	ClaimFor time.Duration
	// Directory corrects an official's numbers during a crisis
	// (numbers.go); nil refuses corrections.
	Directory DirectoryStore
	// Inbox keeps which replies were handled (inbox.go); nil keeps no
	// inbox.
	Inbox InboxStore

	// CIP keeps the CIP's roster and cells; nil: the CIP is only recorded
	// by hand (ActivateCIP).
	CIP CIPStore
	// PublicLine keeps the public message and finds the cell the public
	// line serves; nil: the line says the CIP is closed.
	PublicLine PublicLineStore
	// Queue keeps the public line's queue: its desks; with CallOperator,
	// which places a call to an operator in position that takes the next
	// caller of the queue. Either nil: callers wait until they hang up.
	Queue        QueueStore
	CallOperator CallOperatorFunc
}

// NotHeldFunc returns the runs of the exercise schedule that did not
// happen and that no exercise held fulfils, oldest first.
type NotHeldFunc func(ctx context.Context) ([]tocsin.ExerciseRun, error)

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
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.Go == nil {
		cfg.Go = func(f func(context.Context)) { go f(context.Background()) }
	}
	return &Service{cip: cfg.CIP, line: cfg.PublicLine, inbox: cfg.Inbox, directory: cfg.Directory, claimFor: cmp.Or(cfg.ClaimFor, tocsin.DefaultClaimFor), creations: cfg.Creations, partSize: cfg.PartSize, goBackground: cfg.Go, cipDelay: cfg.CIPDelay, store: cfg.Store, history: cfg.History, playbooks: cfg.Playbooks, render: cfg.Render, rates: cfg.Rates, fold: cfg.FoldTypography, now: cfg.Now,
		log: cfg.Logger.With("component", "activation"), audit: cfg.Audit, retex: cfg.Retex, readPace: cfg.Pace,
		notHeld: cfg.NotHeld, queue: cfg.Queue, callOp: cfg.CallOperator}
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
	audience   audience
	fill       func(o *tocsin.Official, spoken, deputy bool) (string, error)
	directory  string // the directory version drawn from
}

// prepare checks a request and resolves the audience; renderMessages writes
// the officials' messages.
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
	officials, version, err := s.officials(ctx)
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
	au := newAudience(pb, officials)
	if au.len() == 0 {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "playbook", "le scénario %q ne vise aucun élu de l'annuaire", pb.ID)
	}
	a.Targeted = au.len()
	return &prepared{playbook: pb, activation: a, audience: au, fill: fill, directory: version}, nil
}

// audience is who a playbook targets in a directory: the matching
// officials, in the order of their ids. Its recipients are made a part at
// a time: at 35,000 officials, making every one before the first part is
// written cost the first send some 60 ms and 16 MB.
type audience struct {
	officials []*tocsin.Official // targeted, sorted by id
	directory []*tocsin.Official // every official, sorted by id: their deputies are found in it
}

func byOfficialID(x, y *tocsin.Official) int { return strings.Compare(x.ID, y.ID) }

// newAudience resolves pb's audience in a directory.
func newAudience(pb *tocsin.Playbook, officials []tocsin.Official) audience {
	dir := make([]*tocsin.Official, len(officials))
	for i := range officials {
		dir[i] = &officials[i]
	}
	if !slices.IsSortedFunc(dir, byOfficialID) { // the store gives them sorted
		slices.SortFunc(dir, byOfficialID)
	}
	au := audience{directory: dir}
	for _, o := range dir {
		if pb.Audience.Match(o) {
			au.officials = append(au.officials, o)
		}
	}
	return au
}

// len is how many officials the audience targets.
func (au audience) len() int { return len(au.officials) }

// after returns the position of the first official whose id comes after
// id: where a creation that wrote up to id goes on.
func (au audience) after(id string) int {
	i, found := slices.BinarySearchFunc(au.officials, id, func(o *tocsin.Official, id string) int { return strings.Compare(o.ID, id) })
	if found {
		i++
	}
	return i
}

// recipients returns the recipients of the officials from position from
// to to, with their deputies, messages not rendered.
func (au audience) recipients(from, to int) []tocsin.Recipient {
	rs := make([]tocsin.Recipient, to-from) // a recipient is large: no regrowth
	for i, o := range au.officials[from:to] {
		rs[i] = tocsin.Recipient{Official: *o, Deputies: au.deputies(o, nil)}
	}
	return rs
}

// deputies appends to into the deputies of o that the directory holds.
func (au audience) deputies(o *tocsin.Official, into []tocsin.Contact) []tocsin.Contact {
	for _, id := range o.Deputies {
		if d := au.find(id); d != nil {
			into = append(into, tocsin.Contact{ID: d.ID, Name: d.Name, Role: d.Role, Numbers: d.Numbers})
		}
	}
	return into
}

// find returns the directory's official with id, or nil.
func (au audience) find(id string) *tocsin.Official {
	i, ok := slices.BinarySearchFunc(au.directory, id, func(d *tocsin.Official, id string) int { return strings.Compare(d.ID, id) })
	if !ok {
		return nil
	}
	return au.directory[i]
}

// each yields each recipient in turn, made in one place that the next
// one reuses: to count or forecast, not to keep.
func (au audience) each(yield func(*tocsin.Recipient) bool) {
	var r tocsin.Recipient
	for _, o := range au.officials {
		r.Official, r.Deputies = *o, au.deputies(o, r.Deputies[:0])
		if !yield(&r) {
			return
		}
	}
}

// numbers counts the numbers that may answer for the audience (as
// tocsin.Recipient.NumberCount), which size its number index.
func (au audience) numbers() int {
	n := 0
	for _, o := range au.officials {
		n += len(o.Numbers)
		for _, id := range o.Deputies {
			if d := au.find(id); d != nil {
				n += len(d.Numbers)
			}
		}
	}
	return n
}

// renderMessages writes the messages of rs, and sets their first step.
func (s *Service) renderMessages(a *tocsin.Activation, fill func(o *tocsin.Official, spoken, deputy bool) (string, error), rs []tocsin.Recipient) error {
	var err error
	for i := range rs {
		r := &rs[i]
		o := &r.Official
		if r.Message, r.Speech, err = s.texts(fill, o, false); err != nil {
			return err
		}
		if len(r.Deputies) > 0 {
			if r.DeputyMessage, r.DeputySpeech, err = s.texts(fill, o, true); err != nil {
				return err
			}
		}
		r.Segments, r.Encoding = tocsin.Segments(r.Message)
		a.Refresh(r, a.ActivatedAt)
	}
	return nil
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
	au := p.audience
	first := au.recipients(0, 1)
	// The deputies' sample: the first official who has any.
	hasDeputy := func(o *tocsin.Official) bool {
		return slices.ContainsFunc(o.Deputies, func(id string) bool { return au.find(id) != nil })
	}
	if i := slices.IndexFunc(au.officials, hasDeputy); i > 0 {
		first = append(first, au.recipients(i, i+1)...)
	}
	if err := s.renderMessages(p.activation, p.fill, first); err != nil {
		return nil, fmt.Errorf("prepare message: %w", err)
	}
	sample := first[0].Message
	n, enc := tocsin.Segments(sample)
	var deputySample string
	for i := range first {
		if m := first[i].DeputyMessage; m != "" {
			deputySample = m
			break
		}
	}
	return &Preview{DeputySample: deputySample,
		Playbook: *p.playbook, Exercise: p.activation.Exercise, Targeted: au.len(),
		Sample: sample, Segments: n, Encoding: enc, NonGSM: tocsin.NonGSM(sample),
		Forecast: s.forecastOf(p.activation, au.each, s.pace(ctx)),
		Pace:     s.pace(ctx),
	}, nil
}

// MissesDeadline reports whether the forecast, at the rates dispatch
// achieves now, says an open activation will not inform everyone within
// its hour: what the console alerts about on every page.
func (s *Service) MissesDeadline(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient) bool {
	if a.State != tocsin.Open {
		return false
	}
	return !s.forecast(a, rs, s.pace(ctx)).MeetsDeadline
}

// forecast goes by the rates dispatch achieves: the configured ones,
// lowered to what the provider allows while it limits them (pace, nil
// when it does not).
func (s *Service) forecast(a *tocsin.Activation, rs []tocsin.Recipient, pace *tocsin.Pace) tocsin.Forecast {
	return tocsin.ForecastLadder(a.Ladder, rs, a.Deadline.Sub(a.ActivatedAt), s.rates.Apply(pace))
}

// forecastOf is forecast over recipients as a sequence.
func (s *Service) forecastOf(a *tocsin.Activation, rs iter.Seq[*tocsin.Recipient], pace *tocsin.Pace) tocsin.Forecast {
	return tocsin.ForecastLadderOf(a.Ladder, rs, a.Deadline.Sub(a.ActivatedAt), s.rates.Apply(pace))
}

// Create resolves the audience, renders each official's message, and
// stores the activation; the leader's dispatch picks it up from there. It
// returns the activation as it was stored, with its first event, without
// reading it back.
//
// An activation larger than a part is stored with its first part of
// recipients only, so that the first messages leave at once; the rest are
// rendered and written in the background (Finish), and the leader
// finishes a creation its replica left half-way.
func (s *Service) Create(ctx context.Context, by tocsin.User, req Request) (*View, error) {
	start := time.Now()
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
	au := p.audience
	whole := s.creations == nil || au.len() <= s.partSize
	n := au.len()
	if !whole {
		n = s.partSize
	}
	written := au.recipients(0, n)
	if err := s.renderMessages(a, p.fill, written); err != nil {
		return nil, fmt.Errorf("prepare message: %w", err)
	}
	prepared := time.Since(start)
	if whole {
		err = s.store.CreateActivation(ctx, a, written, first, entry)
	} else {
		err = s.creations.BeginActivation(ctx, a, written, au.numbers(), &tocsin.Creation{Directory: p.directory, Playbook: *p.playbook,
			Written: len(written), Last: written[len(written)-1].Official.ID}, first, entry)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("activation created", "activation", a.ID, "playbook", a.Playbook, "exercise", a.Exercise, "targeted", a.Targeted,
		"written", len(written), "by", by.Name, "prepared_in", prepared, "recorded_in", time.Since(start))
	if !whole {
		id := a.ID
		s.goBackground(func(ctx context.Context) {
			if err := s.Finish(ctx, id); err != nil {
				s.log.Warn("creation left for the leader to finish", "activation", id, "err", err)
			}
		})
	}
	s.drain(ctx)
	v := s.newView(ctx, a, written)
	v.Forecast = s.forecastOf(a, au.each, v.Pace)
	v.Recipients = written
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
